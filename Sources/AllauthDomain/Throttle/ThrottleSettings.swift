import AllauthCore
import Foundation

/// The `throttle` section: the service's own limits, counted in the store.
public struct ThrottleSettings: Sendable {
    public var enabled: Bool
    /// Failed logins (and every other wrong password: `PasswordGuess`) per client address, across accounts (`FailedLoginBudget`).
    public var loginIP: Rate?
    /// Failed logins per account (e-mail address) from one client address: failures from
    /// elsewhere never lock the owner out.
    public var loginAccount: Rate?
    /// Multiplies every count: raise it for load tests instead of editing each rate.
    public var scale: Double
    /// Sign-ups per client address.
    public var registrationIP: Rate?
    /// Password-reset requests per client address, and per target address from one client
    /// address (429 alike for both); also the reset mails per target address, whoever asks
    /// (beyond it the request succeeds, and no new link is sent).
    public var passwordResetIP: Rate?
    public var passwordResetAddress: Rate?
    /// Confirmation and "account exists" mails per address: beyond it the request succeeds but
    /// sends nothing, so nobody can flood a mailbox through sign-up.
    public var confirmationMailAddress: Rate?
    /// Failed second factors (`mfa/verify/`, `verify-recovery/`) per client address, beside the
    /// per-challenge and per-user budgets of `mfa`.
    public var mfaVerifyIP: Rate?

    public init(enabled: Bool, loginIP: Rate?, loginAccount: Rate?, scale: Double, registrationIP: Rate?, passwordResetIP: Rate?,
                passwordResetAddress: Rate?, confirmationMailAddress: Rate?, mfaVerifyIP: Rate?) {
        self.enabled = enabled
        self.loginIP = loginIP
        self.loginAccount = loginAccount
        self.scale = scale
        self.registrationIP = registrationIP
        self.passwordResetIP = passwordResetIP
        self.passwordResetAddress = passwordResetAddress
        self.confirmationMailAddress = confirmationMailAddress
        self.mfaVerifyIP = mfaVerifyIP
    }

    enum Key {
        static let enabled = SettingKey("throttle.enabled", default: "`true`", "all service-side limits")
        static let loginIP = SettingKey("throttle.login_ip", default: "`10/m`", """
            failed logins (and wrong passwords on `password/change/`, `reauthenticate/`, `mfa/deactivate/`) per client address (IPv6: per /64), across accounts
            """)
        static let loginAccount = SettingKey("throttle.login_account", default: "`5/300s`", """
            the same, per account from one client address (a correct password gives its unit back); failures elsewhere \
            never lock the owner out ([Login limits](#login-limits-not-lockouts))
            """)
        static let registrationIP = SettingKey("throttle.registration_ip", default: "`10/m`", "sign-ups per client address")
        static let passwordResetIP = SettingKey("throttle.password_reset_ip", default: "`20/m`", "reset requests per client address")
        static let passwordResetAddress = SettingKey("throttle.password_reset_address", default: "`5/m`", """
            reset requests per target address from one client address (429), and reset mails per target address \
            whoever asks, known or not (beyond it: the same 200, no new link)
            """)
        static let confirmationMailAddress = SettingKey("throttle.confirmation_mail_address", default: "`3/180s`", """
            confirmation and "account exists" mails per address; beyond it sign-up still answers, without a mail
            """)
        static let mfaVerifyIP = SettingKey("throttle.mfa_verify_ip", default: "`10/m`", """
            failed second factors (`mfa/verify/`, `verify-recovery/`, unknown challenges included) per client address
            """)
        static let scale = SettingKey("throttle.scale", default: "`1`",
                                      "multiplies every limit: `JWT_ALLAUTH_THROTTLE_SCALE=1000` for load tests and benchmarks")
    }

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> ThrottleSettings {
        let enabled = try r.bool(Key.enabled, default: true)
        let loginIP = try r.rate(Key.loginIP, default: "10/m")
        let loginAccount = try r.rate(Key.loginAccount, default: "5/300s")
        let registrationIP = try r.rate(Key.registrationIP, default: "10/m")
        let passwordResetIP = try r.rate(Key.passwordResetIP, default: "20/m")
        let passwordResetAddress = try r.rate(Key.passwordResetAddress, default: "5/m")
        let confirmationMailAddress = try r.rate(Key.confirmationMailAddress, default: "3/180s")
        let mfaVerifyIP = try r.rate(Key.mfaVerifyIP, default: "10/m")
        let scale = try r.double(Key.scale, default: 1, range: 0.001...1_000_000)
        return ThrottleSettings(enabled: enabled, loginIP: loginIP, loginAccount: loginAccount, scale: scale, registrationIP: registrationIP,
                                passwordResetIP: passwordResetIP, passwordResetAddress: passwordResetAddress,
                                confirmationMailAddress: confirmationMailAddress, mfaVerifyIP: mfaVerifyIP)
    }
}
