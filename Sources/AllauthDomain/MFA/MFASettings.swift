import AllauthCore
import Foundation

/// The TOTP second factor: off, offered, or owed by every account (`mfa.mode`).
public enum MFAMode: String, Sendable { case disabled, optional, required }

/// The `mfa` section: the mode, the key that seals TOTP secrets, and the budgets of wrong codes.
public struct MFASettings: Sendable {
    public var mode: MFAMode
    public var issuer: String
    public var challengeMaxAttempts: Int
    public var maxAttempts: Int
    public var lockout: TimeInterval
    /// The file of the key that seals TOTP secrets (`MFAKey`); needed unless the mode is disabled.
    public var secretKey: String
    /// How long a login or setup challenge id stays usable.
    public var challengeLifetime: TimeInterval

    enum Key {
        static let mode = SettingKey("mfa.mode", default: "`disabled`", """
            TOTP second factor: `disabled` (every `mfa/` endpoint 403), `optional`, `required` (see [MFA](api.md#mfa-totp))
            """)
        static let secretKey = SettingKey("mfa.secret_key", default: "`keys/mfa.key`", """
            the key (base64 of 32 random bytes, mode 0600) that seals TOTP secrets with AES-GCM; never the JWT key. \
            `init` and `dev` write one; needed unless the mode is `disabled`
            """)
        static let issuer = SettingKey("mfa.issuer", default: "`JWT-Allauth`",
                                       "the issuer name in the `otpauth://` URI (what authenticator apps show)")
        static let challengeLifetime = SettingKey("mfa.challenge_lifetime", default: "`5m`",
                                                  "how long a login or setup challenge id (and a pending setup secret) lives")
        static let challengeMaxAttempts = SettingKey("mfa.challenge_max_attempts", default: "`5`",
                                                     "wrong codes per challenge before it is invalidated (0: no limit)")
        static let maxAttempts = SettingKey("mfa.max_attempts", default: "`10`", """
            wrong codes (TOTP and recovery together) per user within `mfa.lockout` before the user is locked out: \
            429 + `Retry-After` on `mfa/verify*/` and `login/` (0: no limit)
            """)
        static let lockout = SettingKey("mfa.lockout", default: "`15m`", "the sliding window of `mfa.max_attempts`")
    }

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> MFASettings {
        let mode = try r.choice(Key.mode, default: MFAMode.disabled, ["disabled": .disabled, "optional": .optional, "required": .required])
        let secretKey = try r.path(Key.secretKey, default: "keys/mfa.key")
        let issuer = try r.string(Key.issuer, default: "JWT-Allauth")
        let challengeLifetime = try r.duration(Key.challengeLifetime, default: 300, minimum: 1)
        let challengeMaxAttempts = try r.int(Key.challengeMaxAttempts, default: 5, range: 0...1000)
        let maxAttempts = try r.int(Key.maxAttempts, default: 10, range: 0...1000)
        let lockout = try r.duration(Key.lockout, default: 900)
        return MFASettings(mode: mode, issuer: issuer, challengeMaxAttempts: challengeMaxAttempts, maxAttempts: maxAttempts,
                           lockout: lockout, secretKey: secretKey, challengeLifetime: challengeLifetime)
    }
}
