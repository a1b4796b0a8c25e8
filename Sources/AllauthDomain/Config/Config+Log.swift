import AllauthCore
import Foundation

extension Config {
    /// The `log` section: the service log's level and where security events go.
    struct Log {
        var level: String
        /// A file, or nil for standard error.
        var securityEventsPath: String?

        enum Key {
            static let level = SettingKey("log.level", default: "`info`", "`trace` … `error`")
            static let securityEvents = SettingKey("log.security_events", default: "`stderr`", """
                one line per security event (see [operations.md](operations.md#security-events-and-fail2ban)): a file, or \
                `stderr`; `init` writes `/var/log/jwt-allauth/security.log` (`log/security.log` locally)
                """)
        }

        static func parse(_ r: inout ConfigReader) throws(ConfigError) -> Log {
            let level = try r.choice(Key.level, default: "info",
                                     ["trace": "trace", "debug": "debug", "info": "info", "notice": "notice", "warning": "warning", "error": "error"])
            let securityEvents = try r.optionalString(Key.securityEvents)
            return Log(level: level, securityEventsPath: securityEvents == "stderr" ? nil : securityEvents.map(r.resolve))
        }
    }
}
