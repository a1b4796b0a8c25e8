import AllauthDomain
import AllauthRuntime
import FastCGI

/// The account flows, wired to this request's connection and the service's configuration.
extension HandlerContext {
    var oneTimeTokens: OneTimeTokens { OneTimeTokens(db) }
    var mailer: AccountMailer { AccountMailer(settings: config.accountMail, templates: service.templates, outbox: Outbox(db), requestLanguage: language) }
    /// Every hash a request computes takes a slot of the pool's budget (`BudgetedHasher`).
    var hasher: BudgetedHasher { BudgetedHasher(hasher: PasswordHasher(iterations: config.accounts.passwordIterations), budget: service.hashing) }
    var registration: Registration { Registration(db: db, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer, mailer: mailer) }
    var emailConfirmation: EmailConfirmation { EmailConfirmation(db: db, capabilities: config.capabilityLifetimes) }
    var passwordReset: PasswordReset { PasswordReset(db: db, accounts: config.accounts, capabilities: config.capabilityLifetimes, mailer: mailer) }
    var capabilities: CapabilityRedemption { CapabilityRedemption(db: db, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer) }
    var invitations: Invitations { Invitations(db: db, accounts: config.accounts, mailer: mailer) }
    var credentialChange: CredentialChange { CredentialChange(db: db, accounts: config.accounts) }
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
    var socialLogin: SocialLogin { SocialLogin(db: db, social: config.social, accounts: config.accounts, mfa: config.mfa, issuer: service.issuer) }

    /// A configured redirect target, or the built-in page below the mount.
    func redirectTarget(_ configured: String?, builtIn path: String) -> String {
        configured ?? config.server.mount + "/" + path
    }
}
