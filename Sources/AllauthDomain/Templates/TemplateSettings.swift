import AllauthCore
import Foundation

/// The `templates` section: the shipped `Templates/`, optionally overridden file by file, and the
/// language they render in by default.
public struct TemplateSettings: Sendable {
    /// A directory whose `<name>.mustache` files replace the shipped ones of the same name.
    public var directory: String?
    /// The name mails and pages show; the host of `server.public_url` by default.
    public var siteName: String
    /// `i18n.default_language` (`LocalizationSettings`): the catalog (`de`, `pt_BR`) for a request
    /// whose `Accept-Language` names none we ship, and for mails to users with no stored language.
    public var defaultLanguage: String = "en"

    enum Key {
        static let directory = SettingKey("templates.directory", default: "unset", """
            a directory of `.mustache` files replacing the shipped mail and page templates of the same name \
            ([Templates/README.md](../Templates/README.md))
            """)
        static let siteName = SettingKey("templates.site_name", default: "host of `server.public_url`", "the name mails and pages show")
    }

    /// `defaultSiteName`: the name when `templates.site_name` is unset (the configuration's own host).
    package static func parse(_ r: inout ConfigReader, defaultSiteName: String) throws(ConfigError) -> TemplateSettings {
        TemplateSettings(directory: try r.optionalPath(Key.directory),
                         siteName: try r.optionalString(Key.siteName) ?? defaultSiteName)
    }
}
