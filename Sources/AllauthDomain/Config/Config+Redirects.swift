import AllauthCore
import Foundation

extension Config {
    /// The `redirects` section: where the links in mails land instead of the built-in pages.
    public struct Redirects: Sendable {
        public var emailVerified: String?
        public var passwordReset: String?
        public var passwordSet: String?
        public var passwordResetRequest: String?

        enum Key {
            static let emailVerified = SettingKey("redirects.email_verified", default: "built-in page", "where the confirmation link lands")
            static let passwordReset = SettingKey("redirects.password_reset", default: "built-in form",
                                                  "where the reset link lands (with the capability cookie)")
            static let passwordSet = SettingKey("redirects.password_set", default: "built-in form",
                                                "where the invitation link lands (with the capability cookie)")
            static let passwordResetRequest = SettingKey("redirects.password_reset_request", default: "unset",
                                                         "link in the \"account exists\" mail")
        }

        static func parse(_ r: inout ConfigReader) throws(ConfigError) -> Redirects {
            Redirects(
                emailVerified: try r.optionalString(Key.emailVerified),
                passwordReset: try r.optionalString(Key.passwordReset),
                passwordSet: try r.optionalString(Key.passwordSet),
                passwordResetRequest: try r.optionalString(Key.passwordResetRequest)
            )
        }
    }
}
