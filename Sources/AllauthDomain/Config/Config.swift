import AllauthCore
import AllauthRuntime
import AllauthStore
import Foundation

/// The service's whole configuration, read and validated once at start into an immutable value.
/// Every key can be overridden by an environment variable `JWT_ALLAUTH_<SECTION>_<KEY>`
/// (e.g. `JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME=5m`). docs/configuration.md lists every key.
public struct Config: Sendable {
    public struct Server: Sendable {
        public var socket: String
        public var socketMode: UInt32
        public var workers: Int
        public var threads: Int
        /// How many of a worker's `threads` take requests at once (`RunnerGate`); the rest stand in
        /// for threads blocked in a long wait.
        public var runningThreads: Int
        public var maxBodyBytes: Int
        public var stopTimeout: TimeInterval
        /// Where the API is mounted; routes are matched below it.
        public var mount: String
        /// The public origin of the service (scheme://host[:port]) used in links and redirects.
        public var publicURL: String
    }

    public struct Database: Sendable {
        /// The SQLite file (`database.path`, or the path of a `sqlite:` URL).
        public var path: String
        public var busyTimeout: TimeInterval
        /// `database.url`: SQLite (the default) or PostgreSQL (`StoreLocation`).
        public var location: StoreLocation = .sqlite(path: "")
    }

    public enum Algorithm: String, Sendable, CaseIterable {
        case rs256 = "RS256", es256 = "ES256", edDSA = "EdDSA", hs256 = "HS256"
    }

    /// A client whose refresh answer was lost (a dropped connection, a killed worker, a phone in
    /// a tunnel) retries with the token it holds: within this window that retry gets the same
    /// successor instead of being taken for a thief. 0 is the reference's strict behaviour.
    public static let defaultRotationGrace: TimeInterval = 10

    public struct Tokens: Sendable {
        public var algorithm: Algorithm
        /// PEM private key (RS256/ES256/EdDSA) or secret file (HS256) that signs access tokens.
        public var signingKey: String
        /// Public keys (PEM) that still verify tokens after a key rotation.
        public var verificationKeys: [String]
        /// Server-only HMAC secret that signs refresh tokens (they are only ever verified here).
        public var refreshSecret: String
        public var accessLifetime: TimeInterval
        public var refreshLifetime: TimeInterval
        public var sessionLifetime: TimeInterval?
        public var rotationGrace: TimeInterval
        public var accessTokenSessionCheck: Bool
        /// Custom claims: claim name → user column (docs/configuration.md).
        public var userAttributes: [(claim: String, column: String)]
    }

    public struct Cookie: Sendable {
        /// A cookie whose name starts with this is only accepted by browsers when it is Secure,
        /// has Path=/ and no Domain: no sibling subdomain can set or overwrite it.
        public static let hostPrefix = "__Host-"

        /// An RFC 6265 cookie name: visible ASCII except the separators.
        static func isValidName(_ name: String) -> Bool {
            let separators = Set("()<>@,;:\\\"/[]?={}".utf8)
            return !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !separators.contains($0) }
        }

        public var name: String
        public var httpOnly: Bool
        public var secure: Bool
        public var sameSite: String
        /// nil: a session cookie.
        public var maxAge: Int?
        public var path: String
        public var domain: String?

        package init(name: String, httpOnly: Bool, secure: Bool, sameSite: String, maxAge: Int?, path: String, domain: String?) {
            self.name = name
            self.httpOnly = httpOnly
            self.secure = secure
            self.sameSite = sameSite
            self.maxAge = maxAge
            self.path = path
            self.domain = domain
        }
    }

    public struct Cookies: Sendable {
        public var refreshAsCookie: Bool
        public var refresh: Cookie
        public var passwordReset: Cookie
        public var passwordSet: Cookie
        /// Origins allowed to send a cookie-mode refresh (besides requests with no Origin header).
        public var allowedOrigins: [String]
    }

    public enum EmailVerification: String, Sendable { case none, optional, mandatory }
    public enum MFAMode: String, Sendable { case disabled, optional, required }

    public struct Accounts: Sendable {
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
    }

    public struct MFA: Sendable {
        public var mode: MFAMode
        public var issuer: String
        public var challengeMaxAttempts: Int
        public var maxAttempts: Int
        public var lockout: TimeInterval
        /// The file of the key that seals TOTP secrets (`MFAKey`); needed unless the mode is disabled.
        public var secretKey: String
        /// How long a login or setup challenge id stays usable.
        public var challengeLifetime: TimeInterval
    }

    public struct Redirects: Sendable {
        public var emailVerified: String?
        public var passwordReset: String?
        public var passwordSet: String?
        public var passwordResetRequest: String?
    }

    /// `count` requests per `window` seconds.
    public struct Rate: Sendable, Equatable {
        public var count: Int
        public var window: TimeInterval
    }

    public struct Throttle: Sendable {
        public var enabled: Bool
        /// Failed logins (and wrong old passwords) per client address, across accounts (`FailedLoginBudget`).
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
    }

    /// The mail and page templates: the shipped `Templates/`, optionally overridden file by file.
    public struct Templates: Sendable {
        /// A directory whose `<name>.mustache` files replace the shipped ones of the same name.
        public var directory: String?
        /// The name mails and pages show; the host of `server.public_url` by default.
        public var siteName: String
        /// `i18n.default_language`: the catalog (`de`, `pt_BR`) for a request whose `Accept-Language`
        /// names none we ship, and for mails to users with no stored language.
        public var defaultLanguage: String = "en"
    }

    public enum MailTransport: String, Sendable { case smtp, directory }
    public enum SMTPSecurity: String, Sendable { case none, starttls, tls }

    public struct Mail: Sendable {
        public var transport: MailTransport
        public var directory: String
        public var from: String
        public var smtpHost: String
        public var smtpPort: Int
        public var smtpSecurity: SMTPSecurity
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
    }

    /// nginx's micro-cache of verify/ answers for auth_request (`verify.*`, docs/deploying.md, "Caching verify/").
    public struct Verify: Sendable {
        /// How long nginx reuses a 200 of verify/ for the same token; 0 = no cache (the default).
        public var cache: TimeInterval = 0
        /// The operator's consent that, with `tokens.access_token_session_check` on, a revoked
        /// session's access token still passes auth_request for up to `cache`.
        public var cacheAcceptsRevocationLag = false

        public static let off = Verify()
    }

    public var server: Server
    public var database: Database
    public var verify: Verify = .off
    public var tokens: Tokens
    public var cookies: Cookies
    public var accounts: Accounts
    public var mfa: MFA
    public var redirects: Redirects
    public var throttle: Throttle
    public var mail: Mail
    public var templates: Templates
    /// Social login over OpenID Connect (`SocialConfig.swift`).
    public var social: Social
    public var logLevel: String
    /// Where security events go (one line each, for fail2ban): a file, or standard error when nil.
    public var securityEventsPath: String?
    /// The file this was read from.
    public var path: String

    /// Reads and validates `path`, with environment overrides.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Config {
        try load(path: path, text: readText(path: path), environment: environment)
    }

    /// Validates `text` as if read from `path` (relative paths resolve against its directory).
    public static func load(path: String, text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Config {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return try parse(yaml: text, environment: environment, baseDirectory: url.deletingLastPathComponent(), path: url.path)
    }

    /// On SQLite a request computes, or waits a moment for a local lock: as many running threads
    /// in the pool as cores, so that a thread holding the writer lock is seldom preempted and no
    /// request wakes a second thread of its worker (docs/sizing.md). A running thread that shares
    /// its core with a hash (at `accounts.hashing_nice`) is covered by its worker's sweeper. On
    /// PostgreSQL every statement waits for the server, so every thread runs.
    static func defaultRunningThreads(_ server: Server, _ location: StoreLocation,
                                      cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
        if location.engine == .postgreSQL { return server.threads }
        return min(server.threads, max(1, (cores + server.workers - 1) / server.workers))
    }

    public static func readText(path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "(file)", problem: "cannot read \(path): \(error.localizedDescription)")
        }
    }

    public static func parse(yaml: String, environment: [String: String] = [:], baseDirectory: URL, path: String = "") throws(ConfigError) -> Config {
        var r = try ConfigReader(yaml: yaml, environment: environment, baseDirectory: baseDirectory)

        var server = Server(
            socket: try r.path("server.socket", default: "run/jwt-allauth.sock"),
            socketMode: try Self.fileMode(r.string("server.socket_mode", default: "0660"), key: "server.socket_mode"),
            workers: try r.int("server.workers", default: 2, range: 1...256),
            threads: try r.int("server.threads", default: 16, range: 1...512),
            runningThreads: 1,
            maxBodyBytes: try r.int("server.max_body_bytes", default: 65536, range: 1024...(16 << 20)),
            stopTimeout: try r.duration("server.stop_timeout", default: 10, minimum: 1),
            mount: try Self.mount(r.string("server.mount", default: "/jwt-allauth")),
            publicURL: try Self.origin(r.string("server.public_url", default: "http://127.0.0.1:8080"), key: "server.public_url")
        )

        var database = Database(
            path: try r.path("database.path", default: "jwt-allauth.sqlite3"),
            busyTimeout: try r.duration("database.busy_timeout", default: 5, minimum: 0.05)
        )
        database.location = try Self.storeLocation(&r, sqlitePath: database.path)
        if case .sqlite(let path) = database.location { database.path = path }
        server.runningThreads = try r.int("server.running_threads",
                                          default: Self.defaultRunningThreads(server, database.location),
                                          range: 1...server.threads)

        let algorithm = try r.choice("tokens.algorithm", default: Algorithm.rs256,
                                     Dictionary(uniqueKeysWithValues: Algorithm.allCases.map { ($0.rawValue.lowercased(), $0) }))
        let refreshLifetime = try r.duration("tokens.refresh_lifetime", default: 14 * 86400, minimum: 1)
        var attributes: [(claim: String, column: String)] = []
        for (claim, column) in try r.stringMap("tokens.user_attributes") {
            if TokenClaims.reservedNames.contains(claim) || attributes.contains(where: { $0.claim == claim }) {
                throw ConfigError(key: "tokens.user_attributes", problem: "claim name \"\(claim)\" is reserved or repeated")
            }
            guard UserRecord.customAttributeColumns.contains(column) else {
                throw ConfigError(key: "tokens.user_attributes",
                                  problem: "\"\(column)\" is not a user column (one of \(UserRecord.customAttributeColumns.sorted().joined(separator: ", ")))")
            }
            attributes.append((claim, column))
        }
        let tokens = Tokens(
            algorithm: algorithm,
            signingKey: try r.path("tokens.signing_key", default: "keys/private.pem"),
            verificationKeys: try r.stringList("tokens.verification_keys", default: []).map(r.resolve),
            refreshSecret: try r.path("tokens.refresh_secret", default: "keys/refresh.key"),
            accessLifetime: try r.duration("tokens.access_lifetime", default: 30 * 60, minimum: 1),
            refreshLifetime: refreshLifetime,
            sessionLifetime: try r.optionalDuration("tokens.session_lifetime"),
            rotationGrace: try r.duration("tokens.rotation_grace", default: Self.defaultRotationGrace),
            accessTokenSessionCheck: try r.bool("tokens.access_token_session_check", default: false),
            userAttributes: attributes
        )
        guard tokens.rotationGrace <= 60 else {
            throw ConfigError(key: "tokens.rotation_grace", problem: "must be at most 60s (a few seconds is the intent)")
        }

        let verify = try parseVerify(&r, sessionCheck: tokens.accessTokenSessionCheck)

        func cookie(_ prefix: String, name: String, maxAge: Int?) throws(ConfigError) -> Cookie {
            let sameSite = try r.choice("cookies.\(prefix)_same_site", default: "Lax", ["lax": "Lax", "strict": "Strict", "none": "None"])
            let secure = try r.bool("cookies.\(prefix)_secure", default: true)
            if sameSite == "None" && !secure {
                throw ConfigError(key: "cookies.\(prefix)_same_site", problem: "SameSite=None requires \(prefix)_secure: true")
            }
            let maxAgeKey = "cookies.\(prefix)_max_age"
            var age = maxAge
            if let text = try r.optionalString(maxAgeKey) {
                guard let seconds = ConfigReader.parseDuration(text) else {
                    throw ConfigError(key: maxAgeKey, problem: "expected a duration or \"session\"")
                }
                age = Int(seconds)
            } else if r.isExplicitlyNull(maxAgeKey) {
                age = nil
            }
            let cookie = Cookie(
                name: name,
                httpOnly: try r.bool("cookies.\(prefix)_http_only", default: true),
                secure: secure,
                sameSite: sameSite,
                maxAge: age,
                path: try r.string("cookies.\(prefix)_path", default: "/"),
                domain: try r.optionalString("cookies.\(prefix)_domain")
            )
            // Browsers drop a __Host- cookie that breaks these rules: refuse it at start instead.
            if cookie.name.hasPrefix(Cookie.hostPrefix) && (!cookie.secure || cookie.path != "/" || cookie.domain != nil) {
                throw ConfigError(key: "cookies.\(prefix)_name",
                                  problem: "a \(Cookie.hostPrefix) cookie needs \(prefix)_secure: true, \(prefix)_path: / and no \(prefix)_domain")
            }
            guard Cookie.isValidName(cookie.name) else {
                throw ConfigError(key: "cookies.\(prefix)_name", problem: "not a valid cookie name")
            }
            return cookie
        }
        let cookies = Cookies(
            refreshAsCookie: try r.bool("cookies.refresh_as_cookie", default: true),
            refresh: try cookie("refresh", name: try r.string("cookies.refresh_name", default: "refresh_token"), maxAge: Int(refreshLifetime)),
            passwordReset: try cookie("password_reset", name: "password_reset_access_token", maxAge: 3600),
            passwordSet: try cookie("password_set", name: "set_password_access_token", maxAge: 86400),
            allowedOrigins: try r.stringList("cookies.allowed_origins", default: []).map { origin throws(ConfigError) in
                try Self.origin(origin, key: "cookies.allowed_origins")
            }
        )

        let adminManaged = try r.bool("accounts.admin_managed_registration", default: false)
        var allowedRoles: [Int] = []
        for text in try r.stringList("accounts.registration_allowed_roles", default: ["1000", "900"]) {
            guard let role = Int(text), role >= 0 else {
                throw ConfigError(key: "accounts.registration_allowed_roles", problem: "\"\(text)\" is not a role code")
            }
            allowedRoles.append(role)
        }
        let accounts = Accounts(
            emailVerification: try r.choice("accounts.email_verification", default: .none,
                                            ["none": .none, "false": .none, "optional": .optional, "mandatory": .mandatory, "true": .mandatory]),
            emailConfirmationExpire: try r.duration("accounts.email_confirmation_expire", default: 3 * 86400, minimum: 1),
            preventEnumeration: try r.bool("accounts.prevent_enumeration", default: true),
            passwordIterations: try r.int("accounts.password_iterations", default: 1_000_000, range: 1000...100_000_000),
            passwordMinLength: try r.int("accounts.password_min_length", default: 8, range: 1...128),
            oldPasswordFieldEnabled: try r.bool("accounts.old_password_field_enabled", default: true),
            logoutOnPasswordChange: try r.bool("accounts.logout_on_password_change", default: true),
            adminManagedRegistration: adminManaged,
            invitations: try r.bool("accounts.invitations", default: false) || adminManaged,
            registrationAllowedRoles: allowedRoles,
            collectUserAgent: try r.bool("accounts.collect_user_agent", default: false),
            passwordResetTimeout: try r.duration("accounts.password_reset_timeout", default: 259_200, minimum: 1),
            confirmEmailOnGet: try r.bool("accounts.confirm_email_on_get", default: false),
            reauthenticationTimeout: try r.duration("accounts.reauthentication_timeout", default: 300, minimum: 1),
            // About half the host's cores by default: hashing never takes more than that from rotations.
            hashingConcurrency: try r.int("accounts.hashing_concurrency", default: max(1, ProcessInfo.processInfo.activeProcessorCount / 2),
                                          range: 1...256),
            hashingWait: try r.duration("accounts.hashing_wait", default: 3, minimum: 0),
            hashingNice: Int32(try r.int("accounts.hashing_nice", default: Int(HashingPriority.defaultNice), range: -20...0))
        )
        guard accounts.hashingWait <= 30 else {
            throw ConfigError(key: "accounts.hashing_wait", problem: "must be at most 30s (nginx gives up on an answer after 60s)")
        }

        let mfa = MFA(
            mode: try r.choice("mfa.mode", default: .disabled, ["disabled": .disabled, "optional": .optional, "required": .required]),
            issuer: try r.string("mfa.issuer", default: "JWT-Allauth"),
            challengeMaxAttempts: try r.int("mfa.challenge_max_attempts", default: 5, range: 0...1000),
            maxAttempts: try r.int("mfa.max_attempts", default: 10, range: 0...1000),
            lockout: try r.duration("mfa.lockout", default: 900),
            secretKey: try r.path("mfa.secret_key", default: "keys/mfa.key"),
            challengeLifetime: try r.duration("mfa.challenge_lifetime", default: 300, minimum: 1)
        )

        let redirects = Redirects(
            emailVerified: try r.optionalString("redirects.email_verified"),
            passwordReset: try r.optionalString("redirects.password_reset"),
            passwordSet: try r.optionalString("redirects.password_set"),
            passwordResetRequest: try r.optionalString("redirects.password_reset_request")
        )

        func rate(_ key: String, default defaultValue: String?) throws(ConfigError) -> Rate? {
            let text = try r.optionalString(key) ?? (r.isExplicitlyNull(key) ? nil : defaultValue)
            guard let text, text.lowercased() != "off" else { return nil }
            guard let rate = Self.parseRate(text) else {
                throw ConfigError(key: key, problem: "expected a rate like 10/m, 5/300s or off, got \"\(text)\"")
            }
            return rate
        }
        let throttle = Throttle(
            enabled: try r.bool("throttle.enabled", default: true),
            loginIP: try rate("throttle.login_ip", default: "10/m"),
            loginAccount: try rate("throttle.login_account", default: "5/300s"),
            scale: try r.double("throttle.scale", default: 1, range: 0.001...1_000_000),
            registrationIP: try rate("throttle.registration_ip", default: "10/m"),
            passwordResetIP: try rate("throttle.password_reset_ip", default: "20/m"),
            passwordResetAddress: try rate("throttle.password_reset_address", default: "5/m"),
            confirmationMailAddress: try rate("throttle.confirmation_mail_address", default: "3/180s"),
            mfaVerifyIP: try rate("throttle.mfa_verify_ip", default: "10/m")
        )

        let mail = Mail(
            transport: try r.choice("mail.transport", default: .smtp, ["smtp": .smtp, "directory": .directory]),
            directory: try r.path("mail.directory", default: "mail"),
            from: try r.string("mail.from", default: "webmaster@localhost"),
            smtpHost: try r.string("mail.smtp_host", default: "127.0.0.1"),
            smtpPort: try r.int("mail.smtp_port", default: 25, range: 1...65535),
            smtpSecurity: try r.choice("mail.smtp_security", default: .none, ["none": .none, "starttls": .starttls, "tls": .tls]),
            smtpUsername: try r.optionalString("mail.smtp_username"),
            smtpPasswordFile: try r.optionalPath("mail.smtp_password_file"),
            smtpCAFile: try r.optionalPath("mail.smtp_ca_file"),
            maxAttempts: try r.int("mail.max_attempts", default: 8, range: 1...100),
            retryDelay: try r.duration("mail.retry_delay", default: 60, minimum: 1),
            retryMaxDelay: try r.duration("mail.retry_max_delay", default: 3600, minimum: 1),
            pollInterval: try r.duration("mail.poll_interval", default: 1, minimum: 0.05),
            connectTimeout: try r.duration("mail.connect_timeout", default: 10, minimum: 1),
            sendTimeout: try r.duration("mail.send_timeout", default: 60, minimum: 1)
        )
        guard mail.connectTimeout <= mail.sendTimeout else {
            throw ConfigError(key: "mail.connect_timeout", problem: "must not exceed mail.send_timeout")
        }
        guard mail.retryDelay <= mail.retryMaxDelay else {
            throw ConfigError(key: "mail.retry_delay", problem: "must not exceed mail.retry_max_delay")
        }
        if mail.transport == .smtp, (mail.smtpUsername == nil) != (mail.smtpPasswordFile == nil) {
            throw ConfigError(key: "mail.smtp_password_file", problem: "mail.smtp_username and mail.smtp_password_file go together")
        }

        var templates = Templates(
            directory: try r.optionalPath("templates.directory"),
            siteName: try r.optionalString("templates.site_name") ?? URL(string: server.publicURL)?.host ?? "jwt-allauth"
        )
        templates.defaultLanguage = try r.string("i18n.default_language", default: "en").replacingOccurrences(of: "-", with: "_")

        let social = try parseSocial(&r)

        let logLevel = try r.choice("log.level", default: "info",
                                    ["trace": "trace", "debug": "debug", "info": "info", "notice": "notice", "warning": "warning", "error": "error"])

        let securityEvents = try r.optionalString("log.security_events")
        let securityEventsPath = securityEvents == "stderr" ? nil : securityEvents.map(r.resolve)

        try r.rejectUnknownKeys(otherVariables: TransactionProbe.environmentNames)
        return Config(server: server, database: database, verify: verify, tokens: tokens, cookies: cookies, accounts: accounts, mfa: mfa,
                      redirects: redirects, throttle: throttle, mail: mail, templates: templates, social: social,
                      logLevel: logLevel, securityEventsPath: securityEventsPath, path: path)
    }

    /// The verify/ micro-cache. Refused with the session check on unless the operator accepts the
    /// lag by name: the check exists so that a revoked session stops passing at once, and a cache
    /// in front of it silently undoes that for the cache time.
    static func parseVerify(_ r: inout ConfigReader, sessionCheck: Bool) throws(ConfigError) -> Verify {
        var verify = Verify()
        verify.cache = try r.duration("verify.cache", default: 0)
        verify.cacheAcceptsRevocationLag = try r.bool("verify.cache_accepts_revocation_lag", default: false)
        guard verify.cache <= 60, verify.cache.rounded() == verify.cache else {
            // nginx counts cache times in whole seconds.
            throw ConfigError(key: "verify.cache", problem: "must be whole seconds, at most 60s (a few seconds is the intent)")
        }
        if verify.cache > 0, sessionCheck, !verify.cacheAcceptsRevocationLag {
            throw ConfigError(key: "verify.cache", problem: """
                with tokens.access_token_session_check on, a revoked session's access token would still pass \
                auth_request for up to verify.cache; set verify.cache_accepts_revocation_lag: true to accept that, \
                or verify.cache: 0s
                """)
        }
        return verify
    }

    static func parseRate(_ text: String) -> Rate? {
        let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        let windowText = parts[1].lowercased()
        let named: [String: TimeInterval] = ["s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400]
        if let window = named[windowText] { return Rate(count: count, window: window) }
        guard let window = ConfigReader.parseDuration(windowText), window > 0 else { return nil }
        return Rate(count: count, window: window)
    }

    /// `database.url` (default `sqlite:` + `database.path`) and `database.password_file`, read now
    /// so an unreadable file stops the start with the key's name.
    private static func storeLocation(_ r: inout ConfigReader, sqlitePath: String) throws(ConfigError) -> StoreLocation {
        let passwordFile = try r.optionalPath("database.password_file")
        guard let url = try r.optionalString("database.url") else {
            if passwordFile != nil { throw ConfigError(key: "database.password_file", problem: "only for a postgresql:// database.url") }
            return .sqlite(path: sqlitePath)
        }
        let location = try StoreLocation.parse(url, key: "database.url", resolve: r.resolve)
        guard let passwordFile else { return location }
        guard case .postgreSQL(let url, _) = location else {
            throw ConfigError(key: "database.password_file", problem: "only for a postgresql:// database.url")
        }
        guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
            throw ConfigError(key: "database.password_file", problem: "cannot read \(passwordFile)")
        }
        // A trailing newline is the editor's, not the password's.
        return .postgreSQL(url: url, password: String(text.trimmingCharacters(in: .newlines)))
    }

    private static func fileMode(_ text: String, key: String) throws(ConfigError) -> UInt32 {
        guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
            throw ConfigError(key: key, problem: "expected an octal file mode like 0660, got \"\(text)\"")
        }
        return mode
    }

    private static func mount(_ text: String) throws(ConfigError) -> String {
        var mount = text
        while mount.hasSuffix("/") { mount.removeLast() }
        guard mount.isEmpty || mount.hasPrefix("/") else {
            throw ConfigError(key: "server.mount", problem: "must start with / (e.g. /jwt-allauth)")
        }
        return mount
    }

    private static func origin(_ text: String, key: String) throws(ConfigError) -> String {
        var origin = text
        while origin.hasSuffix("/") { origin.removeLast() }
        guard let url = URL(string: origin), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
              url.path.isEmpty
        else {
            throw ConfigError(key: key, problem: "expected an origin like https://example.com, got \"\(text)\"")
        }
        return origin
    }
}

extension Config.Database {
    /// A new connection to the configured store, for one thread.
    public func connect() throws -> any SQLConnection {
        try location.connect(busyTimeout: busyTimeout)
    }
}
