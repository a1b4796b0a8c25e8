import AllauthDomain
import AllauthRuntime
import FastCGI

/// The account flows, wired to this request's connection and the service's configuration.
extension HandlerContext {
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }
    var mailer: AccountMailer { AccountMailer(config: config, templates: service.templates, outbox: Outbox(db), requestLanguage: language) }
    /// Every hash a request computes takes a slot of the pool's budget (`BudgetedHasher`).
    var hasher: BudgetedHasher { BudgetedHasher(hasher: PasswordHasher(iterations: config.accounts.passwordIterations), budget: service.hashing) }
    var registration: Registration { Registration(db: db, config: config, issuer: service.issuer, mailer: mailer) }
    var emailConfirmation: EmailConfirmation { EmailConfirmation(db: db, config: config) }
    var passwordReset: PasswordReset { PasswordReset(db: db, config: config, mailer: mailer) }
    var capabilities: CapabilityRedemption { CapabilityRedemption(db: db, config: config, issuer: service.issuer) }
    var invitations: Invitations { Invitations(db: db, config: config, mailer: mailer) }
    var credentialChange: CredentialChange { CredentialChange(db: db, config: config) }
    var passwordGuess: PasswordGuess { PasswordGuess(throttle: throttle, limits: config.throttle, hasher: hasher) }
    var logIn: LogIn {
        LogIn(db: db, guess: passwordGuess, hasher: hasher, store: config.database.location,
              emailVerification: config.accounts.emailVerification, signIn: signIn)
    }
    var requestPasswordReset: RequestPasswordReset {
        RequestPasswordReset(throttle: throttle, limits: config.throttle, reset: passwordReset)
    }
    var registerAccount: RegisterAccount {
        RegisterAccount(throttle: throttle, limits: config.throttle, hasher: hasher, registration: registration,
                        emailVerification: config.accounts.emailVerification, mfaMode: config.mfa.mode)
    }
    var logOut: LogOut { LogOut(db: db, tokens: service.tokens) }
    var rotateSession: RotateSession {
        RotateSession(db: db, tokens: service.tokens, issuer: service.issuer, rotationGrace: Int64(config.tokens.rotationGrace))
    }
    var socialLogin: SocialLogin { SocialLogin(db: db, config: config, issuer: service.issuer) }

    /// A configured redirect target, or the built-in page below the mount.
    func redirectTarget(_ configured: String?, builtIn path: String) -> String {
        configured ?? config.server.mount + "/" + path
    }
}
