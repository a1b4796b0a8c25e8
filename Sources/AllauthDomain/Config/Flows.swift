import AllauthRuntime
import AllauthStore

/// The use cases wired to one request: its store connection, the configuration and the worker's
/// long-lived parts (token keys, templates, the hashing budget, the TOTP key). The HTTP layer makes
/// one per request (`HandlerContext.flows`) and calls the use case it needs; how each is put
/// together from the settings it reads is said here once, and the use cases' initialisers stay
/// inside the domain.
package struct Flows {
    let db: any SQLConnection
    let config: Config
    let tokens: TokenService
    let issuer: SessionIssuer
    let hashing: HashingBudget
    let templates: TemplateLibrary
    /// Seals TOTP secrets; nil without a key file (the MFA endpoints then answer 403).
    let mfaKey: MFAKey?
    /// The request's language: the mails a flow queues speak it.
    let language: String

    package init(db: any SQLConnection, config: Config, tokens: TokenService, issuer: SessionIssuer, hashing: HashingBudget,
                 templates: TemplateLibrary, mfaKey: MFAKey?, language: String) {
        self.db = db
        self.config = config
        self.tokens = tokens
        self.issuer = issuer
        self.hashing = hashing
        self.templates = templates
        self.mfaKey = mfaKey
        self.language = language
    }

    package var throttle: Throttle { Throttle(db, settings: config.throttle) }
    package var mailer: AccountMailer {
        AccountMailer(settings: config.accountMail, templates: templates, outbox: Outbox(db), requestLanguage: language)
    }
    /// Every hash a request computes takes a slot of the pool's budget (`BudgetedHasher`).
    package var hasher: BudgetedHasher {
        BudgetedHasher(hasher: PasswordHasher(iterations: config.accounts.passwordIterations), budget: hashing)
    }
    package var passwordGuess: PasswordGuess { PasswordGuess(throttle: throttle, limits: config.throttle, hasher: hasher) }

    // MARK: sessions

    package var signIn: SignIn { SignIn(db: db, mfa: config.mfa, issuer: issuer) }
    package var logIn: LogIn {
        LogIn(db: db, guess: passwordGuess, hasher: hasher, store: config.database.location,
              emailVerification: config.accounts.emailVerification, signIn: signIn)
    }
    package var rotateSession: RotateSession {
        RotateSession(db: db, tokens: tokens, issuer: issuer, rotationGrace: Int64(config.tokens.rotationGrace))
    }
    package var logOut: LogOut { LogOut(db: db, tokens: tokens) }

    // MARK: accounts

    package var registration: Registration {
        Registration(db: db, accounts: config.accounts, mfa: config.mfa, issuer: issuer, mailer: mailer)
    }
    package var registerAccount: RegisterAccount {
        RegisterAccount(throttle: throttle, limits: config.throttle, hasher: hasher, registration: registration,
                        emailVerification: config.accounts.emailVerification, mfaMode: config.mfa.mode)
    }
    package var emailConfirmation: EmailConfirmation { EmailConfirmation(db: db, capabilities: config.capabilityLifetimes) }
    package var passwordReset: PasswordReset {
        PasswordReset(db: db, accounts: config.accounts, capabilities: config.capabilityLifetimes, mailer: mailer)
    }
    package var requestPasswordReset: RequestPasswordReset {
        RequestPasswordReset(throttle: throttle, limits: config.throttle, reset: passwordReset)
    }
    package var capabilities: CapabilityRedemption {
        CapabilityRedemption(db: db, accounts: config.accounts, mfa: config.mfa, issuer: issuer)
    }
    package var invitations: Invitations { Invitations(db: db, accounts: config.accounts, mailer: mailer) }
    package var credentialChange: CredentialChange { CredentialChange(db: db, accounts: config.accounts) }
    package var reauthentication: Reauthentication { Reauthentication(db: db, accounts: config.accounts, mfa: config.mfa) }
    package var reauthenticate: Reauthenticate {
        Reauthenticate(guess: passwordGuess, reauthentication: reauthentication,
                       mfaKey: config.mfa.mode == .disabled ? nil : mfaKey)
    }
    package var socialLogin: SocialLogin {
        SocialLogin(db: db, social: config.social, accounts: config.accounts, mfa: config.mfa, issuer: issuer)
    }

    // MARK: second factor (with the key the MFA endpoints required)

    package func mfaEnrolment(_ key: MFAKey) -> MFAEnrolment {
        MFAEnrolment(db: db, accounts: config.accounts, mfa: config.mfa, issuer: issuer, key: key)
    }
    package func mfaVerification(_ key: MFAKey) -> MFAVerification { MFAVerification(db: db, mfa: config.mfa, issuer: issuer, key: key) }
    package func removeSecondFactor(_ key: MFAKey) -> RemoveSecondFactor {
        RemoveSecondFactor(guess: passwordGuess, enrolment: mfaEnrolment(key), mode: config.mfa.mode)
    }
}

extension Config {
    /// The operator's use case (the command line), which serves no request: no token keys, no
    /// hashing budget (it hashes offline), sign-up's password validators with the shipped
    /// common-passwords list.
    package func administration(_ db: any SQLConnection) -> AccountAdministration {
        AccountAdministration(db: db, accounts: accounts, mail: accountMail, templates: templates, mfa: mfa) { [accounts] in
            PasswordPolicy(minLength: accounts.passwordMinLength, commonPasswords: try PasswordPolicy.commonPasswords(in: ShareDirectory.locate()))
        }
    }
}
