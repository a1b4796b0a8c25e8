import AllauthCore
import Foundation

/// What the account mails take from the configuration: the sender, the site as mails name and
/// link it, and how long the links they carry live. `Config.accountMail` composes it.
public struct AccountMailSettings: Sendable {
    /// `mail.from`.
    public var from: String
    /// `templates.site_name`.
    public var siteName: String
    /// Where the API is reached from outside: `server.public_url` + `server.mount`.
    public var apiBase: String
    /// `redirects.password_reset_request`, absolute: the link in the "account exists" mail.
    public var passwordResetRequestURL: String?
    /// `accounts.email_confirmation_expire`: confirmation and invitation links.
    public var confirmationLifetime: TimeInterval
    /// `accounts.password_reset_timeout`.
    public var passwordResetLifetime: TimeInterval

    public init(from: String, siteName: String, apiBase: String, passwordResetRequestURL: String?,
                confirmationLifetime: TimeInterval, passwordResetLifetime: TimeInterval) {
        self.from = from
        self.siteName = siteName
        self.apiBase = apiBase
        self.passwordResetRequestURL = passwordResetRequestURL
        self.confirmationLifetime = confirmationLifetime
        self.passwordResetLifetime = passwordResetLifetime
    }
}

/// Renders the account mails (confirmation, invitation, password reset, account exists) with
/// absolute links built from `server.public_url` + mount, and queues them in the outbox.
/// Call it inside the write transaction of the change that causes the mail.
package struct AccountMailer {
    let settings: AccountMailSettings
    let templates: TemplateLibrary
    let outbox: Outbox
    /// The language of the request that causes the mail: used for a user with none stored yet.
    var requestLanguage: String? = nil

    /// `https://auth.example.com/jwt-allauth` + `path` (which starts below the mount).
    func link(_ path: String) -> String {
        settings.apiBase + "/" + path
    }

    func confirmationLink(key: String) -> String { link("registration/verification/\(key)/") }

    /// The reset link names the account by base64url of its decimal id, as Django's `uidb64`.
    func passwordResetLink(userID: Int64, token: String) -> String {
        link("password/reset/confirm/\(Base64URL.encode(Array(String(userID).utf8)))/\(token)/")
    }

    func sendConfirmation(to user: UserRecord, key: String, now: Int64) throws {
        try send(.confirmation, to: user, link: confirmationLink(key: key), lifetime: settings.confirmationLifetime, now: now)
    }

    func sendInvitation(to user: UserRecord, key: String, now: Int64) throws {
        try send(.invitation, to: user, link: confirmationLink(key: key), lifetime: settings.confirmationLifetime, now: now)
    }

    func sendPasswordReset(to user: UserRecord, token: String, now: Int64) throws {
        try send(.passwordReset, to: user, link: passwordResetLink(userID: user.id, token: token),
                 lifetime: settings.passwordResetLifetime, now: now)
    }

    func sendAccountExists(to user: UserRecord, now: Int64) throws {
        try send(.accountExists, to: user, link: nil, lifetime: nil, now: now)
    }

    private func send(_ template: MailTemplate, to user: UserRecord, link: String?, lifetime: TimeInterval?, now: Int64) throws {
        let context = MailContext(email: user.email, firstName: user.firstName, link: link, siteName: settings.siteName,
                                  passwordResetURL: settings.passwordResetRequestURL, linkLifetime: lifetime)
        // The user's own language when known (stored at sign-up and login), so a reset asked for
        // from a script still reaches them in theirs.
        let language = try UserStore(outbox.db).language(userID: user.id) ?? requestLanguage
        let rendered = try templates.mail(template, context, language: language)
        try outbox.enqueue(OutgoingMail(kind: template.rawValue, from: settings.from, to: user.email,
                                        subject: rendered.subject, text: rendered.text, html: rendered.html), now: now)
    }
}
