import AllauthDomain
import AllauthRuntime
import AllauthStore
import FastCGI
import Foundation
import HTTPTypes
import Logging

/// What one accept thread owns: its own database connection, SQLite or PostgreSQL (a connection
/// is never shared between threads).
public final class ThreadState {
    public let db: any SQLConnection

    public init(db: any SQLConnection) { self.db = db }
}

/// The service: configuration, keys, templates and routes, shared by every thread of a worker.
/// `handle` is a plain function from request to response, testable without nginx.
public final class Service: Sendable {
    public let config: Config
    public let tokens: TokenService
    /// Mail and page templates, loaded and render-checked once at start.
    public let templates: TemplateLibrary
    let issuer: SessionIssuer
    /// The password validators, with the common-passwords list loaded once per worker.
    let passwords: PasswordPolicy
    let logger: Logger
    /// The OpenID clients of `social.providers`, with their per-worker discovery and key caches.
    let socialProviders: SocialProviders
    /// Seals TOTP secrets; nil while the MFA mode is disabled.
    let mfaKey: MFAKey?
    private let router: Router
    /// This process's counters; `metricsDirectory` holds every process's, summed by `metrics/`.
    public let metrics: MetricsRecorder
    let metricsDirectory: MetricsDirectory?
    let securityLog: SecurityLog
    /// The pool's password-hashing slots (`HashingBudget`), beside the socket like the metrics.
    let hashing: HashingBudget
    /// `Content-Language` of every catalog, made once (`Response.localize`).
    private let contentLanguageFields: [String: HTTPField]

    /// `commonPasswords`: `PasswordPolicy.commonPasswords(in:)`, read once at start.
    /// `metrics`: the pool's counter directory and this process's name in it (`worker-0`);
    /// without it the service counts in private memory and `metrics/` shows this process only.
    public init(config: Config, keys: KeySet, templates: TemplateLibrary, logger: Logger, commonPasswords: Set<String> = [],
                securityLog: SecurityLog = .standardError, metrics: (directory: MetricsDirectory, name: String)? = nil,
                mfaKey: MFAKey? = nil) {
        self.config = config
        self.tokens = TokenService(keys: keys)
        self.templates = templates
        self.issuer = SessionIssuer(tokens: tokens, settings: config.tokens)
        self.passwords = PasswordPolicy(minLength: config.accounts.passwordMinLength, commonPasswords: commonPasswords)
        self.logger = logger
        self.socialProviders = SocialProviders(config.social, fetcher: CurlHTTPFetcher(timeout: config.social.httpTimeout))
        self.mfaKey = mfaKey
        let router = Self.routes(config)
        self.router = router
        self.securityLog = securityLog
        self.metricsDirectory = metrics?.directory
        self.metrics = metrics.map { directory, name in
            directory.recorder(name: name, routes: router.labels) { error in
                logger.error("metrics: counting in this process only", metadata: ["error": "\(error)"])
            }
        } ?? .inMemory(routes: router.labels)
        self.hashing = Self.hashingBudget(config, logger: logger)
        let translations = templates.translations
        self.contentLanguageFields = Dictionary(uniqueKeysWithValues: translations.languages.map { code in
            (code, HTTPField(name: .contentLanguage, value: translations.catalog(code).tag))
        })
    }

    /// The pool-wide budget in `<socket's directory>/hashing`, or one for this process alone (and
    /// a log line saying why) when that directory cannot be used.
    static func hashingBudget(_ config: Config, logger: Logger) -> HashingBudget {
        let directory = URL(fileURLWithPath: config.server.socket).deletingLastPathComponent().appendingPathComponent("hashing").path
        let accounts = config.accounts
        let priority = HashingPriority(nice: accounts.hashingNice)
        do {
            return try SharedHashingBudget(directory: directory, slots: accounts.hashingConcurrency, wait: accounts.hashingWait,
                                           priority: priority)
        } catch {
            logger.error("hashing budget: limiting hashes within this process only", metadata: ["error": "\(error)"])
            return LocalHashingBudget(slots: accounts.hashingConcurrency, wait: accounts.hashingWait, priority: priority)
        }
    }

    /// The state of one accept thread: its own store connection.
    public func makeThreadState() throws -> ThreadState {
        ThreadState(db: try config.database.connect())
    }

    /// Every endpoint, below the mount point.
    private static func routes(_ config: Config) -> Router {
        var router = Router(mount: config.server.mount)
        router.add("health/", .get, HealthHandler.get)
        router.add("jwks/", .get, JWKSHandler.get)
        router.add("verify/", .get, VerifyHandler.get)
        router.add("login/", .post, LoginHandler.post)
        router.add("refresh/", .post, RefreshHandler.post)
        router.add("logout/", .post, LogoutHandler.logout)
        router.add("logout-all/", .post, LogoutHandler.logoutAll)
        router.add("user/", .get, UserDetailsHandler.get)
        router.add("user/", .put, UserDetailsHandler.put)
        router.add("user/", .patch, UserDetailsHandler.patch)
        router.add("sessions/", .get, SessionsHandler.list)
        router.add("sessions/<id>/", .delete, SessionsHandler.delete)
        router.add("reauthenticate/", .post, ReauthenticationHandler.post)

        // Built-in pages; a configured redirect replaces the page it names (as in the reference).
        router.add("registration/account_email_verification_sent/", .get, PageHandler.show(.verificationSent))
        if config.redirects.emailVerified == nil {
            router.add("registration/verified/", .get, PageHandler.show(.verified))
        }
        if config.redirects.passwordReset == nil {
            router.add("password/reset/default/", .get, PageHandler.show(.passwordResetForm))
            router.add("password/reset/complete/", .get, PageHandler.show(.passwordResetComplete))
        }
        if config.redirects.passwordSet == nil {
            router.add("registration/set-password/default/", .get, PageHandler.show(.setPasswordForm))
        }
        addAccountRoutes(to: &router, config.accounts)
        addSocialRoutes(to: &router, config.social)
        // MFA: routed in every mode; while disabled each answers 403 (after its authentication).
        router.add("mfa/setup/", .post, MFAHandler.setup)
        router.add("mfa/activate/", .post, MFAHandler.activate)
        router.add("mfa/verify/", .post, MFAHandler.verify)
        router.add("mfa/verify-recovery/", .post, MFAHandler.verifyRecovery)
        router.add("mfa/deactivate/", .post, MFAHandler.deactivate)
        router.add("mfa/authenticators/", .get, MFAHandler.authenticators)
        // Prometheus scrapes; the nginx site lets only its allowlist reach it.
        router.add("metrics/", .get, MetricsHandler.get)
        return router
    }

    /// Sign-up, confirmation, password change and reset, invitations; routed as the reference
    /// routes them (§1): sign-up closes under admin-managed registration, the confirmation link
    /// exists when something sends one, the invitation endpoints when invitations are on.
    private static func addAccountRoutes(to router: inout Router, _ accounts: AccountSettings) {
        if !accounts.adminManagedRegistration {
            router.add("registration/", .post, RegistrationHandler.register)
        }
        if accounts.invitations || accounts.emailVerification != .none {
            addLinkRoute("registration/verification/<key>/", to: &router, get: RegistrationHandler.verify)
            router.add("registration/verification/<key>/", .post, RegistrationHandler.confirm)
        }
        router.add("password/change/", .post, PasswordChangeHandler.post)
        router.add("password/reset/", .post, PasswordResetHandler.request)
        addLinkRoute("password/reset/confirm/<uidb64>/<token>/", to: &router, get: PasswordResetHandler.confirm)
        router.add("password/reset/set-new/", .post, SetPasswordHandler.resetSetNew)
        if accounts.invitations {
            router.add("registration/user-register/", .post, InvitationHandler.invite)
            router.add("registration/set-password/", .post, SetPasswordHandler.invitationSetPassword)
        }
    }

    /// A link from a mail. Its GET may act (hand over a capability; confirm, under
    /// `accounts.confirm_email_on_get`), so its HEAD, which mail scanners and link previews send,
    /// gets an answer of its own that reads and changes nothing.
    private static func addLinkRoute(_ pattern: String, to router: inout Router, get: @escaping Router.Handler) {
        router.add(pattern, .get, get)
        router.add(pattern, .head, { _, _ in
            Response(status: .ok, headerFields: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"])
        })
    }

    /// Social login (as in django-jwt-allauth), routed when at least one provider is configured.
    private static func addSocialRoutes(to router: inout Router, _ social: SocialSettings) {
        guard !social.providers.isEmpty else { return }
        router.add("social/providers/", .get, SocialHandler.providers)
        router.add("social/accounts/", .get, SocialHandler.accounts)
        router.add("social/accounts/<id>/", .delete, SocialHandler.disconnect)
        router.add("social/<provider>/token/", .post, SocialHandler.tokenLogin)
        router.add("social/<provider>/code/", .post, SocialHandler.codeLogin)
        router.add("social/<provider>/connect/token/", .post, SocialHandler.connectToken)
        router.add("social/<provider>/connect/code/", .post, SocialHandler.connectCode)
        router.add("social/demo/", .get, PageHandler.show(.socialDemo))
    }

    public func handle(_ request: Request, _ thread: ThreadState) -> Response {
        let started = ContinuousClock.now
        let language = templates.translations.negotiate(request.headerFields[.acceptLanguage])
        let (match, route) = router.resolve(method: request.method, path: request.path)
        var response: Response
        do {
            response = try answer(request, match, thread, language: language)
        } catch is HashingBudgetExhausted {
            // Every hashing slot of the pool stayed taken for `accounts.hashing_wait`: overload.
            logger.warning("hashing budget exhausted", metadata: ["path": "\(request.path)"])
            response = APIError.busy.response
        } catch let error as APIError {
            response = error.response
        } catch let error as StoreBusy {
            // A lock held past database.busy_timeout: overload or a stuck writer, not a bug.
            logger.warning("database busy", metadata: ["path": "\(request.path)", "waited_for": "\(error.waitedFor)"])
            response = APIError.busy.response
        } catch let error as StoreUnavailable {
            // PostgreSQL restarting or this connection's backend gone: the next request reconnects.
            logger.warning("database unavailable", metadata: ["path": "\(request.path)", "error": "\(error.message)"])
            response = APIError.storeUnavailable.response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.path)", "error": "\(error)"])
            response = .json(.object([("detail", "Internal error."), ("code", "internal_error")]), status: .internalServerError)
        }
        let catalog = templates.translations.catalog(language)
        response.localize(catalog, contentLanguage: contentLanguageFields[catalog.code] ?? HTTPField(name: .contentLanguage, value: catalog.tag))
        CORS.apply(request, match, allowedOrigins: config.cookies.allowedOrigins, to: &response)
        if request.method == .head { response.body = [] }
        if response.status == .tooManyRequests {
            // Every service-side limit answers 429 through APIError.throttled: counted here once.
            record(.throttled(route: router.labels[route]), request)
        }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        metrics.request(route: route, status: response.status.code, seconds: Double(seconds) + Double(attoseconds) / 1e18)
        return response
    }

    /// Logs a security event from this request's client and adds it to its pool counter.
    func record(_ event: SecurityEvent, _ request: Request) {
        securityLog.record(event, client: request.remoteAddress)
        if let counter = event.counter { metrics.count(counter) }
    }

    private func answer(_ request: Request, _ match: Router.Match, _ thread: ThreadState, language: String) throws -> Response {
        switch request.bodyStatus {
        case .tooLarge: throw APIError.payloadTooLarge(limit: config.server.maxBodyBytes)
        case .invalidLength: throw APIError.invalidContentLength
        case .complete: break
        }
        switch match {
        case .notFound:
            throw APIError.notFound
        case .methodNotAllowed(let allowed):
            if request.method == .options {
                // As DRF's metadata answer: what the endpoint renders and parses.
                var response = Response.json(.object([
                    ("renders", .array(["application/json"])),
                    ("parses", .array(["application/json", "application/x-www-form-urlencoded"])),
                ]))
                response.headerFields[.allow] = (allowed + [.options]).map(\.rawValue).joined(separator: ", ")
                return response
            }
            throw APIError.methodNotAllowed(request.method, allowed: allowed)
        case .handler(let handler, let parameters):
            var context = HandlerContext(service: self, db: thread.db, now: Int64(Date().timeIntervalSince1970), parameters: parameters)
            context.language = language
            return try handler(request, context)
        }
    }
}
