import AllauthCore
import AllauthRuntime
import Foundation

/// Whether an address must be confirmed (`accounts.email_verification`).
public enum EmailVerification: String, Sendable { case none, optional, mandatory }

/// The `accounts` section: sign-up, passwords and their hashing, links and invitations.
public struct AccountSettings: Sendable {
    public var emailVerification: EmailVerification
    public var emailConfirmationExpire: TimeInterval
    public var preventEnumeration: Bool
    public var passwordIterations: Int
    public var passwordMinLength: Int
    public var oldPasswordFieldEnabled: Bool
    public var logoutOnPasswordChange: Bool
    public var adminManagedRegistration: Bool
    public var invitations: Bool
    public var registrationAllowedRoles: [Int]
    public var collectUserAgent: Bool
    public var passwordResetTimeout: TimeInterval
    /// Whether a confirmation link's GET confirms (the reference's behaviour) instead of showing
    /// a page whose button confirms by POST (allauth's default): a mail scanner's pre-fetch then
    /// confirms the address.
    public var confirmEmailOnGet: Bool
    /// How long a `reauthenticate/` keeps the session allowed to add a way into the account.
    public var reauthenticationTimeout: TimeInterval
    /// Password hashes running at once across the whole pool (`HashingBudget`): a login storm
    /// keeps to this many cores and leaves the rest to the sessions.
    public var hashingConcurrency: Int
    /// How long a request waits for a hashing slot before it is answered 503.
    public var hashingWait: TimeInterval
    /// The nice value a thread holding (or waiting for) a slot runs at (`HashingPriority`).
    public var hashingNice: Int32

    enum Key {
        static let emailVerification = SettingKey("accounts.email_verification", default: "`none`", """
            `none`, `optional`, `mandatory` (login refuses unverified accounts under `mandatory`); `init --email` and \
            the local instance write `mandatory`
            """)
        static let passwordIterations = SettingKey("accounts.password_iterations", default: "`1000000`", """
            PBKDF2-SHA256 rounds; a stored hash of another count is re-hashed at its next login, down as well as up
            """)
        static let hashingConcurrency = SettingKey("accounts.hashing_concurrency", default: "half the cores (at least 1)", """
            password hashes running at once across the whole pool (login, sign-up, password change, reset and \
            set-password, the MFA password check, the unknown-address dummy); the rest wait their turn \
            ([sizing.md](sizing.md#password-hashing-in-a-login-storm))
            """)
        static let hashingNice = SettingKey("accounts.hashing_nice", default: "`-8`", """
            the nice value of a thread holding or waiting for a hashing slot, so a slot is a core's worth (needs \
            CAP_SYS_NICE or `LimitNICE` ≥ 20 − it, which the unit sets to 30; otherwise hashes run at normal priority)
            """)
        static let hashingWait = SettingKey("accounts.hashing_wait", default: "`3s`", """
            how long a request waits for a hashing slot before it gets 503 JSON (`code: busy`, `Retry-After: 1`); at most `30s`
            """)
        static let collectUserAgent = SettingKey("accounts.collect_user_agent", default: "`false`",
                                                 "record IP and parsed User-Agent on each session mint and rotation")
        static let emailConfirmationExpire = SettingKey("accounts.email_confirmation_expire", default: "`3d`",
                                                        "confirmation and invitation link lifetime")
        static let preventEnumeration = SettingKey("accounts.prevent_enumeration", default: "`true`",
                                                   "under `mandatory` verification, sign-up answers a taken address like a free one and mails its owner")
        static let passwordMinLength = SettingKey("accounts.password_min_length", default: "`8`", """
            password validation: also Django's common-passwords list, all-numeric and similarity to the address and names
            """)
        static let oldPasswordFieldEnabled = SettingKey("accounts.old_password_field_enabled", default: "`true`",
                                                        "password change asks for the old one")
        static let logoutOnPasswordChange = SettingKey("accounts.logout_on_password_change", default: "`true`", """
            password change, reset and set-password revoke every session and link, and hand the caller a new session
            """)
        static let adminManagedRegistration = SettingKey("accounts.admin_managed_registration", default: "`false`",
                                                         "invitations instead of sign-up (`registration/` is not routed)")
        static let invitations = SettingKey("accounts.invitations", default: "`false`", "invitation endpoints beside open sign-up")
        static let registrationAllowedRoles = SettingKey("accounts.registration_allowed_roles", default: "`[1000, 900]`", "roles that may invite")
        static let passwordResetTimeout = SettingKey("accounts.password_reset_timeout", default: "`3d`", "reset link lifetime")
        static let confirmEmailOnGet = SettingKey("accounts.confirm_email_on_get", default: "`false`", """
            `true`: a confirmation link's GET confirms, as in the reference, for frontends that rely on it. It costs \
            this: a mail gateway or link preview that fetches every link confirms the address, so a stranger's sign-up \
            of a company address is confirmed by the company's own scanner. Off, the GET shows a page whose button \
            confirms (allauth's default)
            """)
        static let reauthenticationTimeout = SettingKey("accounts.reauthentication_timeout", default: "`5m`", """
            how long a `reauthenticate/` lets its session add a way into the account (TOTP, social connect)
            """)
    }

    package static func parse(_ r: inout ConfigReader) throws(ConfigError) -> AccountSettings {
        let emailVerification = try r.choice(Key.emailVerification, default: EmailVerification.none,
                                             ["none": .none, "false": .none, "optional": .optional, "mandatory": .mandatory, "true": .mandatory])
        let passwordIterations = try r.int(Key.passwordIterations, default: 1_000_000, range: 1000...100_000_000)
        // About half the host's cores by default: hashing never takes more than that from rotations.
        let hashingConcurrency = try r.int(Key.hashingConcurrency, default: max(1, ProcessInfo.processInfo.activeProcessorCount / 2),
                                           range: 1...256)
        let hashingNice = Int32(try r.int(Key.hashingNice, default: Int(HashingPriority.defaultNice), range: -20...0))
        let hashingWait = try r.duration(Key.hashingWait, default: 3, minimum: 0)
        let collectUserAgent = try r.bool(Key.collectUserAgent, default: false)
        let emailConfirmationExpire = try r.duration(Key.emailConfirmationExpire, default: 3 * 86400, minimum: 1)
        let preventEnumeration = try r.bool(Key.preventEnumeration, default: true)
        let passwordMinLength = try r.int(Key.passwordMinLength, default: 8, range: 1...128)
        let oldPasswordFieldEnabled = try r.bool(Key.oldPasswordFieldEnabled, default: true)
        let logoutOnPasswordChange = try r.bool(Key.logoutOnPasswordChange, default: true)
        let adminManaged = try r.bool(Key.adminManagedRegistration, default: false)
        // Admin-managed registration is by invitation: it turns the invitation endpoints on.
        let invitations = try r.bool(Key.invitations, default: false) || adminManaged
        var allowedRoles: [Int] = []
        for text in try r.stringList(Key.registrationAllowedRoles, default: ["1000", "900"]) {
            guard let role = Int(text), role >= 0 else {
                throw ConfigError(key: Key.registrationAllowedRoles.name, problem: "\"\(text)\" is not a role code")
            }
            allowedRoles.append(role)
        }
        let passwordResetTimeout = try r.duration(Key.passwordResetTimeout, default: 259_200, minimum: 1)
        let confirmEmailOnGet = try r.bool(Key.confirmEmailOnGet, default: false)
        let reauthenticationTimeout = try r.duration(Key.reauthenticationTimeout, default: 300, minimum: 1)
        guard hashingWait <= 30 else {
            throw ConfigError(key: Key.hashingWait.name, problem: "must be at most 30s (nginx gives up on an answer after 60s)")
        }
        return AccountSettings(
            emailVerification: emailVerification, emailConfirmationExpire: emailConfirmationExpire, preventEnumeration: preventEnumeration,
            passwordIterations: passwordIterations, passwordMinLength: passwordMinLength, oldPasswordFieldEnabled: oldPasswordFieldEnabled,
            logoutOnPasswordChange: logoutOnPasswordChange, adminManagedRegistration: adminManaged, invitations: invitations,
            registrationAllowedRoles: allowedRoles, collectUserAgent: collectUserAgent, passwordResetTimeout: passwordResetTimeout,
            confirmEmailOnGet: confirmEmailOnGet, reauthenticationTimeout: reauthenticationTimeout,
            hashingConcurrency: hashingConcurrency, hashingWait: hashingWait, hashingNice: hashingNice)
    }
}
