import AllauthCore
import Foundation

/// The `i18n` section: the language of answers and mails when nothing else names one.
public struct LocalizationSettings: Sendable {
    /// A catalog name (`de`, `pt_BR`, `zh_Hant`); a tag's `-` is taken as `_`.
    public var defaultLanguage: String

    enum Key {
        static let defaultLanguage = SettingKey("i18n.default_language", default: "`en`", """
            the catalog (`de`, `pt_BR`, `zh_Hant`, …) for a request whose `Accept-Language` names none of the twelve \
            shipped languages, and for mails to users with no stored language ([Languages](api.md#languages))
            """)
    }

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> LocalizationSettings {
        LocalizationSettings(defaultLanguage: try r.string(Key.defaultLanguage, default: "en").replacingOccurrences(of: "-", with: "_"))
    }
}
