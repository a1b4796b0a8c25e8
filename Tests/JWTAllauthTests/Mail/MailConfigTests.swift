import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// The mail keys: defaults, environment overrides, and bad values refused by name.
struct MailConfigTests {
    func parse(_ yaml: String, _ environment: [String: String] = [:]) throws(ConfigError) -> Config {
        try Config.parse(yaml: yaml, environment: environment, baseDirectory: URL(fileURLWithPath: "/etc/jwt-allauth"))
    }

    @Test func deliveryDefaultsAreConservative() throws {
        let mail = try parse("").mail
        #expect(mail.transport == .smtp && mail.smtpSecurity == .none && mail.smtpCAFile == nil)
        #expect(mail.maxAttempts == 8 && mail.retryDelay == 60 && mail.retryMaxDelay == 3600)
        #expect(mail.pollInterval == 1 && mail.connectTimeout == 10 && mail.sendTimeout == 60)
    }

    @Test func theTestSinkIsReachedThroughEnvironmentOverrides() throws {
        let mail = try parse("mail:\n  transport: directory\n", [
            "JWT_ALLAUTH_MAIL_TRANSPORT": "smtp", "JWT_ALLAUTH_MAIL_SMTP_PORT": "2525", "JWT_ALLAUTH_MAIL_POLL_INTERVAL": "100ms",
            "JWT_ALLAUTH_MAIL_SMTP_CA_FILE": "certs/ca.pem", "JWT_ALLAUTH_MAIL_MAX_ATTEMPTS": "3",
        ]).mail
        #expect(mail.transport == .smtp && mail.smtpPort == 2525 && mail.maxAttempts == 3)
        #expect(mail.pollInterval == 0.1)
        #expect(mail.smtpCAFile == "/etc/jwt-allauth/certs/ca.pem")
    }

    @Test func badMailValuesNameTheirKey() {
        let cases: [(String, String)] = [
            ("mail:\n  max_attempts: 0\n", "mail.max_attempts"),
            ("mail:\n  max_attempts: many\n", "mail.max_attempts"),
            ("mail:\n  retry_delay: soon\n", "mail.retry_delay"),
            ("mail:\n  retry_delay: 2h\n  retry_max_delay: 1h\n", "mail.retry_delay"),
            ("mail:\n  poll_interval: 0\n", "mail.poll_interval"),
            ("mail:\n  connect_timeout: 90s\n  send_timeout: 60s\n", "mail.connect_timeout"),
            ("mail:\n  send_timeout: 0\n", "mail.send_timeout"),
            ("mail:\n  smtp_username: me\n", "mail.smtp_password_file"),
            ("mail:\n  smtp_security: ssl\n", "mail.smtp_security"),
            ("mail:\n  transport: sendmail\n", "mail.transport"),
            ("mail:\n  lease: 5m\n", "mail.lease"),
        ]
        for (yaml, key) in cases {
            do {
                _ = try parse(yaml)
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.key == key, "\(yaml)")
            }
        }
    }
}
