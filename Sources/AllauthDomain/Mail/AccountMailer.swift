import AllauthCore
import Foundation

/// Renders the account mails (confirmation, invitation, password reset, account exists) with
/// absolute links built from `server.public_url` + mount, and queues them in the outbox.
/// Call it inside the write transaction of the change that causes the mail.
package struct AccountMailer {
    let config: Config
    let templates: TemplateLibrary
    let outbox: Outbox
    /// The language of the request that causes the mail: used for a user with none stored yet.
    var requestLanguage: String? = nil

    package init(config: Config, templates: TemplateLibrary, outbox: Outbox, requestLanguage: String? = nil) {
        self.config = config
        self.templates = templates
        self.outbox = outbox
        self.requestLanguage = requestLanguage
    }

    /// `https://auth.example.com/jwt-allauth` + `path` (which starts below the mount).
    func link(_ path: String) -> String {
        config.server.publicURL + config.server.mount + "/" + path
    }

    func confirmationLink(key: String) -> String { link("registration/verification/\(key)/") }

    /// The reset link names the account by base64url of its decimal id, as Django's `uidb64`.
    func passwordResetLink(userID: Int64, token: String) -> String {
        link("password/reset/confirm/\(Base64URL.encode(Array(String(userID).utf8)))/\(token)/")
    }

    func sendConfirmation(to user: UserRecord, key: String, now: Int64) throws {
        try send(.confirmation, to: user, link: confirmationLink(key: key), lifetime: config.accounts.emailConfirmationExpire, now: now)
    }

    func sendInvitation(to user: UserRecord, key: String, now: Int64) throws {
        try send(.invitation, to: user, link: confirmationLink(key: key), lifetime: config.accounts.emailConfirmationExpire, now: now)
    }

    func sendPasswordReset(to user: UserRecord, token: String, now: Int64) throws {
        try send(.passwordReset, to: user, link: passwordResetLink(userID: user.id, token: token),
                 lifetime: config.accounts.passwordResetTimeout, now: now)
    }

    func sendAccountExists(to user: UserRecord, now: Int64) throws {
        try send(.accountExists, to: user, link: nil, lifetime: nil, now: now)
    }

    private func send(_ template: MailTemplate, to user: UserRecord, link: String?, lifetime: TimeInterval?, now: Int64) throws {
        let context = MailContext(email: user.email, firstName: user.firstName, link: link, siteName: config.templates.siteName,
                                  passwordResetURL: passwordResetRequestURL, linkLifetime: lifetime)
        // The user's own language when known (stored at sign-up and login), so a reset asked for
        // from a script still reaches them in theirs.
        let language = try UserStore(outbox.db).language(userID: user.id) ?? requestLanguage
        let rendered = try templates.mail(template, context, language: language)
        try outbox.enqueue(OutgoingMail(kind: template.rawValue, from: config.mail.from, to: user.email,
                                        subject: rendered.subject, text: rendered.text, html: rendered.html), now: now)
    }

    /// `redirects.password_reset_request`, made absolute against the public URL when it is a path.
    var passwordResetRequestURL: String? {
        guard let target = config.redirects.passwordResetRequest else { return nil }
        return target.hasPrefix("/") ? config.server.publicURL + target : target
    }
}
