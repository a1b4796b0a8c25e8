import Foundation

/// The mails the service sends. Each is three templates (in `Templates/mail/`):
/// `<name>.subject`, `<name>.txt` and `<name>.html`, the last inheriting `mail_layout.html`.
public enum MailTemplate: String, CaseIterable, Sendable {
    case confirmation
    case invitation
    case passwordReset = "password_reset"
    case accountExists = "account_exists"

    /// The library names of the three parts.
    var subjectName: String { "\(rawValue).subject" }
    var textName: String { "\(rawValue).txt" }
    var htmlName: String { "\(rawValue).html" }
    var partNames: [String] { [subjectName, textName, htmlName] }
}

/// What a mail template may show. Templates see snake_case keys: `email`, `first_name`, `link`,
/// `site_name`, `password_reset_url`, `link_lifetime` (e.g. "3 days"); an empty or absent value is
/// absent, so `{{#first_name}}…{{/first_name}}` shows only when there is one.
public struct MailContext: Sendable {
    public var email: String
    public var firstName: String
    /// The action link (confirm, accept the invitation, reset); absent in the "account exists" mail.
    public var link: String?
    public var siteName: String
    /// "Account exists" only: where to ask for a reset (`redirects.password_reset_request`).
    public var passwordResetURL: String?
    /// How long `link` stays valid, shown in words.
    public var linkLifetime: TimeInterval?

    public init(email: String, firstName: String = "", link: String? = nil, siteName: String,
                passwordResetURL: String? = nil, linkLifetime: TimeInterval? = nil) {
        self.email = email
        self.firstName = firstName
        self.link = link
        self.siteName = siteName
        self.passwordResetURL = passwordResetURL
        self.linkLifetime = linkLifetime
    }

    var values: [String: Any] {
        var values: [String: Any] = ["email": email, "site_name": siteName]
        if !firstName.isEmpty { values["first_name"] = firstName }
        if let link, !link.isEmpty { values["link"] = link }
        if let passwordResetURL, !passwordResetURL.isEmpty { values["password_reset_url"] = passwordResetURL }
        if let linkLifetime { values["link_lifetime"] = Self.words(linkLifetime) }
        return values
    }

    /// "3 days", "1 hour", "30 minutes": the largest unit that divides the lifetime evenly.
    static func words(_ interval: TimeInterval) -> String {
        let seconds = max(Int(interval.rounded(.up)), 60)
        // Whole literals, so `make messages` finds each as a plural message the catalogs translate.
        if seconds % 86400 == 0 { let count = seconds / 86400; return "\(count) day\(count == 1 ? "" : "s")" }
        if seconds % 3600 == 0 { let count = seconds / 3600; return "\(count) hour\(count == 1 ? "" : "s")" }
        let count = (seconds + 59) / 60
        return "\(count) minute\(count == 1 ? "" : "s")"
    }

    /// What `check` and startup render every mail template with.
    static func sample(for template: MailTemplate) -> MailContext {
        let api = "https://auth.example.com/jwt-allauth"
        var context = MailContext(email: "ada@example.com", firstName: "Ada", siteName: "auth.example.com", linkLifetime: 3 * 86400)
        switch template {
        case .confirmation, .invitation:
            context.link = "\(api)/registration/verification/SAMPLE-KEY/"
        case .passwordReset:
            context.link = "\(api)/password/reset/confirm/MQ/SAMPLE-TOKEN/"
        case .accountExists:
            context.linkLifetime = nil
            context.passwordResetURL = "https://app.example.com/forgot-password"
        }
        return context
    }
}

/// A mail ready for the outbox: one subject line, a plain-text body and its HTML alternative.
public struct RenderedMail: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String

    public init(subject: String, text: String, html: String) {
        self.subject = subject
        self.text = text
        self.html = html
    }
}
