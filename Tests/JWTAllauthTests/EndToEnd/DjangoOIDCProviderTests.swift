import Foundation
import Testing
@testable import AllauthDomain

/// Social login against a real OpenID provider, django-oidc-provider from PyPI in its default
/// configuration: its id_tokens carry no address (only `sub`), so the service must read UserInfo.
/// The user signs in at Django and grants consent as a browser would; the code flow uses PKCE.
@Suite(.serialized)
struct DjangoOIDCProviderTests {
    @Test func aDefaultDjangoOIDCProviderSignsInThroughTheCodeFlowWithPKCEAndItsUserInfo() throws {
        let port = TestInstance.freePort()
        let callback = SocialWorld.callbackURL(port)
        let django = try DjangoOIDCProvider(redirectURI: callback)
        let instance = try TestInstance(environment: [
            "JWT_ALLAUTH_SOCIAL_PROVIDERS": "{django: {name: Django, issuer: \"\(django.issuer)\", client_id: \(django.clientID), client_secret: \(django.clientSecret)}}",
            "JWT_ALLAUTH_SOCIAL_CALLBACK_URLS": callback,
        ], port: port)

        // At the provider: Django's login form, then the authorization request and its consent form.
        let cookies = try django.logIn()
        let verifier = (0..<2).map { _ in UUID().uuidString }.joined(separator: "-")
        let state = UUID().uuidString
        let code = try django.authorize(cookies: cookies, redirectURI: callback, challenge: OpenIDProvider.challenge(verifier), state: state)

        // The app hands the code to the service, which exchanges it with the secret and the verifier.
        let body = try JSONSerialization.data(withJSONObject: ["code": code, "callback_url": callback, "code_verifier": verifier])
        let response = try instance.client.post("\(instance.mount)/social/django/code/", json: String(decoding: body, as: UTF8.self))
        #expect(response.status == 200, "\(response.text)\n\(django.log)")
        let session = try #require(ClientSession(response))
        let me = try instance.client.get("\(instance.mount)/user/", headers: [session.bearer])
        #expect(me.json?["email"]?.string == django.email)
        #expect(me.json?["first_name"]?.string == "Django")
        let user = try #require(try UserStore(instance.database()).find(email: django.email))
        #expect(user.emailVerified && !user.hasUsablePassword)
        #expect(try instance.database().first("SELECT uid FROM social_accounts WHERE user_id = ? AND provider = 'django'", [.integer(user.id)]) {
            $0.string(0)
        } == "1", "the provider's sub: the Django user's id")
        // The address came from UserInfo, read with the access token of the exchange.
        #expect(django.log.contains("POST /openid/token"), "\(django.log)")
        #expect(django.log.contains("GET /openid/userinfo"), "\(django.log)")

        // The code was spent: presenting it again is refused by the provider.
        let again = try instance.client.post("\(instance.mount)/social/django/code/", json: String(decoding: body, as: UTF8.self))
        #expect(again.status == 401, "\(again.text)")
    }
}
