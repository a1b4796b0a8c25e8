import AllauthCore
import Foundation

/// The `mail` section: how the mail process delivers the outbox, and how it retries.
public struct MailSettings: Sendable {
    public enum Transport: String, Sendable { case smtp, directory }
    public enum Security: String, Sendable { case none, starttls, tls }

    public var transport: Transport
    public var directory: String
    public var from: String
    public var smtpHost: String
    public var smtpPort: Int
    public var smtpSecurity: Security
    public var smtpUsername: String?
    public var smtpPasswordFile: String?
    /// PEM bundle that verifies the SMTP server's certificate instead of the system's CAs.
    public var smtpCAFile: String?
    /// Delivery tries per mail before it is marked failed (`jwt-allauth mail --retry` re-queues it).
    public var maxAttempts: Int
    /// The wait after the first failure; it doubles after each further one, up to `retryMaxDelay`.
    public var retryDelay: TimeInterval
    public var retryMaxDelay: TimeInterval
    /// How often the mail process looks for due mail.
    public var pollInterval: TimeInterval
    public var connectTimeout: TimeInterval
    /// The whole of one delivery (connect, TLS, AUTH, upload); also bounds the row's lease.
    public var sendTimeout: TimeInterval

    enum Key {
        static let transport = SettingKey("mail.transport", default: "`smtp`", "`smtp` or `directory` (one `.eml` file per message)")
        static let directory = SettingKey("mail.directory", default: "`mail`", "for `directory`")
        static let from = SettingKey("mail.from", default: "`webmaster@localhost`", "sender address")
        static let server = SettingRow(["mail.smtp_host", "mail.smtp_port"], default: "`127.0.0.1`, `25`", "")
        static let smtpHost = SettingKey("mail.smtp_host", in: server)
        static let smtpPort = SettingKey("mail.smtp_port", in: server)
        static let smtpSecurity = SettingKey("mail.smtp_security", default: "`none`", "`none`, `starttls`, `tls`")
        static let credentials = SettingRow(["mail.smtp_username", "mail.smtp_password_file"], default: "unset",
                                            "AUTH credentials (the password lives in its own 0600 file)")
        static let smtpUsername = SettingKey("mail.smtp_username", in: credentials)
        static let smtpPasswordFile = SettingKey("mail.smtp_password_file", in: credentials)
        static let smtpCAFile = SettingKey("mail.smtp_ca_file", default: "unset",
                                           "PEM certificates that verify the SMTP server instead of the system's CAs")
        static let maxAttempts = SettingKey("mail.max_attempts", default: "`8`", "tries per mail before it is marked failed")
        static let retry = SettingRow(["mail.retry_delay", "mail.retry_max_delay"], default: "`60s`, `1h`",
                                      "wait after the first failure, doubling after each further one up to the maximum")
        static let retryDelay = SettingKey("mail.retry_delay", in: retry)
        static let retryMaxDelay = SettingKey("mail.retry_max_delay", in: retry)
        static let pollInterval = SettingKey("mail.poll_interval", default: "`1s`", "how often the mail process looks for due mail")
        static let timeouts = SettingRow(["mail.connect_timeout", "mail.send_timeout"], default: "`10s`, `60s`",
                                         "SMTP connect, and the whole of one delivery (the row's lease is this plus 10 s)")
        static let connectTimeout = SettingKey("mail.connect_timeout", in: timeouts)
        static let sendTimeout = SettingKey("mail.send_timeout", in: timeouts)
    }

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> MailSettings {
        let mail = MailSettings(
            transport: try r.choice(Key.transport, default: .smtp, ["smtp": .smtp, "directory": .directory]),
            directory: try r.path(Key.directory, default: "mail"),
            from: try r.string(Key.from, default: "webmaster@localhost"),
            smtpHost: try r.string(Key.smtpHost, default: "127.0.0.1"),
            smtpPort: try r.int(Key.smtpPort, default: 25, range: 1...65535),
            smtpSecurity: try r.choice(Key.smtpSecurity, default: .none, ["none": .none, "starttls": .starttls, "tls": .tls]),
            smtpUsername: try r.optionalString(Key.smtpUsername),
            smtpPasswordFile: try r.optionalPath(Key.smtpPasswordFile),
            smtpCAFile: try r.optionalPath(Key.smtpCAFile),
            maxAttempts: try r.int(Key.maxAttempts, default: 8, range: 1...100),
            retryDelay: try r.duration(Key.retryDelay, default: 60, minimum: 1),
            retryMaxDelay: try r.duration(Key.retryMaxDelay, default: 3600, minimum: 1),
            pollInterval: try r.duration(Key.pollInterval, default: 1, minimum: 0.05),
            connectTimeout: try r.duration(Key.connectTimeout, default: 10, minimum: 1),
            sendTimeout: try r.duration(Key.sendTimeout, default: 60, minimum: 1)
        )
        guard mail.connectTimeout <= mail.sendTimeout else {
            throw ConfigError(key: Key.connectTimeout.name, problem: "must not exceed mail.send_timeout")
        }
        guard mail.retryDelay <= mail.retryMaxDelay else {
            throw ConfigError(key: Key.retryDelay.name, problem: "must not exceed mail.retry_max_delay")
        }
        if mail.transport == .smtp, (mail.smtpUsername == nil) != (mail.smtpPasswordFile == nil) {
            throw ConfigError(key: Key.smtpPasswordFile.name, problem: "mail.smtp_username and mail.smtp_password_file go together")
        }
        return mail
    }
}
