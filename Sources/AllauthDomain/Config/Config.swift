import AllauthCore
import AllauthRuntime
import AllauthStore
import Foundation

/// The service's whole configuration, read and validated once at start into an immutable value:
/// each module's settings, parsed by the module from its own section (`TokenSettings`,
/// `AccountSettings`, …), and the sections no domain folder owns (`server`, `database`, `verify`,
/// `cookies`, `redirects`, `log`). The rules that join two sections are here, named.
/// Every key can be overridden by an environment variable `JWT_ALLAUTH_<SECTION>_<KEY>`
/// (e.g. `JWT_ALLAUTH_TOKENS_ACCESS_LIFETIME=5m`). docs/configuration.md lists every key
/// (`ConfigReference` prints the table).
public struct Config: Sendable {
    public var server: Server
    public var database: Database
    public var verify: Verify = .off
    public var tokens: TokenSettings
    public var cookies: Cookies
    public var accounts: AccountSettings
    public var mfa: MFASettings
    public var redirects: Redirects
    public var throttle: ThrottleSettings
    public var mail: MailSettings
    public var templates: TemplateSettings
    /// Social login over OpenID Connect (`Social/SocialSettings.swift`).
    public var social: SocialSettings
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

    public static func readText(path: String) throws(ConfigError) -> String {
        try ConfigReader.readText(path: path)
    }

    public static func parse(yaml: String, environment: [String: String] = [:], baseDirectory: URL, path: String = "") throws(ConfigError) -> Config {
        do {
            var r = try ConfigReader(yaml: yaml, environment: environment, baseDirectory: baseDirectory)
            let config = try compose(&r, path: path)
            try r.rejectUnknownKeys(otherVariables: TransactionProbe.environmentNames)
            return config
        } catch {
            // Every message names the file it is about, when there is one.
            var named = error
            if !path.isEmpty { named.file = path }
            throw named
        }
    }

    /// Every section, in the order of docs/configuration.md's table (`ConfigReference` prints the
    /// keys in the order read), joined by the cross-section rules below.
    static func compose(_ r: inout ConfigReader, path: String) throws(ConfigError) -> Config {
        var (server, runningThreads) = try Server.parse(&r)
        let database = try Database.parse(&r)
        server.runningThreads = runningThreads ?? defaultRunningThreads(server, database.location)
        let tokens = try TokenSettings.parse(&r, userColumns: UserRecord.customAttributeColumns)
        let verify = try Verify.parse(&r, sessionCheck: tokens.accessTokenSessionCheck)
        let cookies = try Cookies.parse(&r, refreshMaxAge: refreshCookieMaxAge(tokens))
        let accounts = try AccountSettings.parse(&r)
        let mfa = try MFASettings.parse(&r)
        let redirects = try Redirects.parse(&r)
        let throttle = try ThrottleSettings.parse(&r)
        let mail = try MailSettings.parse(&r)
        var templates = try TemplateSettings.parse(&r, defaultSiteName: defaultSiteName(server))
        templates.defaultLanguage = try LocalizationSettings.parse(&r).defaultLanguage
        let log = try Log.parse(&r)
        let social = try SocialSettings.parse(&r)
        return Config(server: server, database: database, verify: verify, tokens: tokens, cookies: cookies, accounts: accounts, mfa: mfa,
                      redirects: redirects, throttle: throttle, mail: mail, templates: templates, social: social,
                      logLevel: log.level, securityEventsPath: log.securityEventsPath, path: path)
    }

    // MARK: Rules that join sections

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

    /// The refresh cookie lives as long as the refresh token unless `cookies.refresh_max_age` says otherwise.
    static func refreshCookieMaxAge(_ tokens: TokenSettings) -> Int { Int(tokens.refreshLifetime) }

    /// Mails and pages name the site by the host of `server.public_url` unless `templates.site_name` says otherwise.
    static func defaultSiteName(_ server: Server) -> String { URL(string: server.publicURL)?.host ?? "jwt-allauth" }

    /// What account mails need: `mail.from`, the site's name and public links, and the lifetimes of
    /// the links they carry.
    public var accountMail: AccountMailSettings {
        AccountMailSettings(
            from: mail.from, siteName: templates.siteName, apiBase: server.publicURL + server.mount,
            // A path is taken on the service's own origin.
            passwordResetRequestURL: redirects.passwordResetRequest.map { $0.hasPrefix("/") ? server.publicURL + $0 : $0 },
            confirmationLifetime: accounts.emailConfirmationExpire, passwordResetLifetime: accounts.passwordResetTimeout)
    }

    /// A reset or set-password capability lives as long as the cookie that carries it (a session
    /// cookie's capability: the reference's 1 h and 24 h).
    public var capabilityLifetimes: CapabilityLifetimes {
        CapabilityLifetimes(passwordReset: TimeInterval(cookies.passwordReset.maxAge ?? 3600),
                            passwordSet: TimeInterval(cookies.passwordSet.maxAge ?? 86400))
    }
}
