/// The built-in HTML pages, one template each (in `Templates/pages/`), inheriting `page_layout`.
public enum PageTemplate: String, CaseIterable, Sendable {
    case verified
    case verificationFailed = "verification_failed"
    case verificationSent = "verification_sent"
    /// A confirmation link's GET: the address and a button that confirms it by POST.
    case confirmEmail = "confirm_email"
    case passwordResetForm = "password_reset_form"
    case passwordResetComplete = "password_reset_complete"
    case setPasswordForm = "set_password_form"
    /// `social/demo/`: signs in with a configured provider through the code flow with PKCE.
    case socialDemo = "social_demo"

    var name: String { rawValue }

    /// The two form pages show the form only with their capability cookie, a short "link
    /// invalid" message without it; every other page has one variant.
    var hasFormVariant: Bool { self == .passwordResetForm || self == .setPasswordForm }
}

/// What a page template may show. Templates see snake_case keys: `site_name`, `mount`, `nonce`
/// (for the one inline `<style>` and `<script>` the CSP allows), `has_capability`, `form_action`,
/// `complete_url`, `csrf_cookie`, `password_min_length`, `password_reset_request_url`,
/// `signs_out_everywhere`, and on the confirmation page `email` and `csrf_token`.
public struct PageContext: Sendable {
    public var siteName: String
    public var mount: String
    /// The CSP nonce of this response; the page response helper sets it.
    public var nonce: String
    /// The form pages: whether the request carries the capability cookie (decides the variant only;
    /// the POST endpoint checks the capability itself).
    public var hasCapability: Bool
    /// Where the form POSTs (`…/password/reset/set-new/`, `…/registration/set-password/`).
    public var formAction: String?
    /// Where the reset form goes after success; nil: the page shows the answer itself.
    public var completeURL: String?
    /// The double-submit CSRF cookie the script echoes in `X-CSRFToken`.
    public var csrfCookieName: String
    public var passwordMinLength: Int
    /// Where to ask for a new reset link, if the deployment has such a page.
    public var passwordResetRequestURL: String?
    /// Whether changing the password signs every other device out (`accounts.logout_on_password_change`).
    public var signsOutEverywhere: Bool
    /// The social demo page: the providers it offers, as `social_providers` (id, name,
    /// authorization_endpoint, client_id, scope).
    public var socialProviders: [SocialProviderLink] = []
    /// The confirmation page: the address to confirm, and the CSRF value its form posts back
    /// (the same as the `csrftoken` cookie the answer carries).
    public var email: String?
    public var csrfToken: String?
    /// `no-referrer` (a link's page carries its token in the URL); a page whose form posts back
    /// to us uses `same-origin`, since under `no-referrer` the browser's POST says `Origin: null`.
    public var referrerPolicy = "no-referrer"

    public init(siteName: String, mount: String, nonce: String = "", hasCapability: Bool = false, formAction: String? = nil,
                completeURL: String? = nil, csrfCookieName: String = "csrftoken", passwordMinLength: Int = 8,
                passwordResetRequestURL: String? = nil, signsOutEverywhere: Bool = true, socialProviders: [SocialProviderLink] = []) {
        self.siteName = siteName
        self.mount = mount
        self.nonce = nonce
        self.hasCapability = hasCapability
        self.formAction = formAction
        self.completeURL = completeURL
        self.csrfCookieName = csrfCookieName
        self.passwordMinLength = passwordMinLength
        self.passwordResetRequestURL = passwordResetRequestURL
        self.signsOutEverywhere = signsOutEverywhere
        self.socialProviders = socialProviders
    }

    var values: [String: Any] {
        var values: [String: Any] = [
            "site_name": siteName, "mount": mount, "nonce": nonce, "has_capability": hasCapability,
            "csrf_cookie": csrfCookieName, "password_min_length": passwordMinLength, "signs_out_everywhere": signsOutEverywhere,
            "referrer_policy": referrerPolicy,
        ]
        if let formAction { values["form_action"] = formAction }
        if let completeURL { values["complete_url"] = completeURL }
        if let passwordResetRequestURL, !passwordResetRequestURL.isEmpty { values["password_reset_request_url"] = passwordResetRequestURL }
        if let email { values["email"] = email }
        if let csrfToken { values["csrf_token"] = csrfToken }
        values["social_providers"] = socialProviders.map { provider -> [String: Any] in
            ["id": provider.id, "name": provider.name, "authorization_endpoint": provider.authorizationEndpoint,
             "client_id": provider.clientID, "scope": provider.scope]
        }
        return values
    }

    /// What `check` and startup render every page template with (both variants of the forms).
    static func sample(for template: PageTemplate, hasCapability: Bool) -> PageContext {
        var context = PageContext(siteName: "auth.example.com", mount: "/jwt-allauth", nonce: "c2FtcGxlLW5vbmNl", hasCapability: hasCapability,
                    formAction: "/jwt-allauth/password/reset/set-new/",
                    completeURL: template == .passwordResetForm ? "/jwt-allauth/password/reset/complete/" : nil,
                    passwordResetRequestURL: "https://app.example.com/forgot-password",
                    socialProviders: [SocialProviderLink(id: "example", name: "Example", authorizationEndpoint: "https://id.example.com/authorize",
                                                         clientID: "abc", scope: "openid email")])
        if template == .confirmEmail {
            context.formAction = "/jwt-allauth/registration/verification/c2FtcGxlLWtleQ/"
            context.email = "ada@example.com"
            context.csrfToken = "c2FtcGxlLWNzcmYtdG9rZW4tdmFsdWUx"
        }
        return context
    }
}

/// A provider as the social demo page shows it: where its sign-in starts.
public struct SocialProviderLink: Sendable {
    public var id: String
    public var name: String
    public var authorizationEndpoint: String
    public var clientID: String
    public var scope: String

    public init(id: String, name: String, authorizationEndpoint: String, clientID: String, scope: String) {
        self.id = id
        self.name = name
        self.authorizationEndpoint = authorizationEndpoint
        self.clientID = clientID
        self.scope = scope
    }
}
