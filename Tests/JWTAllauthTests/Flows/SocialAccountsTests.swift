import Foundation
import Testing
@testable import AllauthCore
@testable import AllauthDomain

/// Connecting a provider to the logged-in account, listing and removing connections, and hostile
/// input on every social endpoint.
struct SocialAccountsTests {
    @Test func connectAttachesTheProviderOnceAndRefusesAnIdentityOfAnotherUser() throws {
        let world = try InProcessSocialWorld()
        let alice = try world.instance.createUser("alice@example.com")
        let session = try world.instance.session("alice@example.com")
        let identity = InProcessSocialWorld.user("u-alice", "somewhere-else@example.com")
        // A connection is a way into the account (`ReauthenticationTests`).
        #expect(try world.instance.reauthenticate(session).status == 200)

        #expect(try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: identity)]).status == 401, "needs Bearer")
        let first = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: identity)], headers: [session.bearer])
        #expect(first.status == 201, "\(first.text)")
        #expect(first.json?.keys == ["id", "provider", "uid", "last_login", "date_joined"])
        #expect(first.json?["provider"]?.string == "example")
        #expect(first.json?["uid"]?.string == "u-alice")
        // Idempotent, no session opened, the provider's address not grafted on.
        let again = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: identity)], headers: [session.bearer])
        #expect(again.status == 201)
        #expect(again.json?["id"]?.int == first.json?["id"]?.int)
        #expect(try world.instance.whitelistRows(userID: alice.id) == 1)
        #expect(try UserStore(world.instance.database()).find(email: "somewhere-else@example.com") == nil)

        // Bob cannot take Alice's provider identity, by token or by code.
        try world.instance.createUser("bob@example.com")
        let bob = try world.instance.session("bob@example.com")
        #expect(try world.instance.reauthenticate(bob).status == 200)
        let taken = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: identity)], headers: [bob.bearer])
        #expect(taken.status == 409)
        #expect(taken.json?["code"]?.string == "social_account_in_use")
        let verifier = String(repeating: "c", count: 43)
        let code = try world.provider.code(user: identity, redirectURI: world.callbackURL, verifier: verifier)
        let byCode = try world.post("example/connect/code/", ["code": code, "callback_url": world.callbackURL, "code_verifier": verifier],
                                    headers: [bob.bearer])
        #expect(byCode.status == 409)

        // Logging in with the connected identity reaches Alice.
        let login = try world.tokenLogin(try world.provider.idToken(user: identity))
        #expect(login.status == 200)
        #expect(try world.instance.whitelistRows(userID: alice.id) == 2)
    }

    @Test func listShowsOnlyTheCallersConnectionsAndDisconnectKeepsTheLastWayIn() throws {
        let world = try InProcessSocialWorld()
        // A social-only account: no usable password.
        let login = try world.tokenLogin(try world.provider.idToken(user: InProcessSocialWorld.user("u-only", "only@example.com")))
        let social = try #require(ClientSession(login))
        try world.instance.createUser("other@example.com")
        let other = try world.instance.session("other@example.com")
        #expect(try world.instance.reauthenticate(other).status == 200)
        let otherConnection = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: InProcessSocialWorld.user("u-other", "o@example.com"))],
                                             headers: [other.bearer])
        let otherID = try #require(otherConnection.json?["id"]?.int)

        let list = try world.instance.client.get("\(world.instance.mount)/social/accounts/", headers: [social.bearer])
        #expect(list.status == 200)
        #expect(list.json?.array?.count == 1)
        #expect(list.json?[0]?["uid"]?.string == "u-only")
        #expect(list.json?[0]?["extra_data"] == nil)
        let ownID = try #require(list.json?[0]?["id"]?.int)

        let foreign = try world.instance.client.request("DELETE", "\(world.instance.mount)/social/accounts/\(otherID)/", headers: [social.bearer])
        #expect(foreign.status == 404)
        #expect(foreign.body.isEmpty)
        let last = try world.instance.client.request("DELETE", "\(world.instance.mount)/social/accounts/\(ownID)/", headers: [social.bearer])
        #expect(last.status == 400)
        #expect(last.json?["code"]?.string == "disconnect_not_allowed")
        // An account with a password may drop its connection.
        let dropped = try world.instance.client.request("DELETE", "\(world.instance.mount)/social/accounts/\(otherID)/", headers: [other.bearer])
        #expect(dropped.status == 204)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 1)
    }

    @Test func hostileInputOnEverySocialEndpointGetsA4xxJSONAndMakesNothing() throws {
        let world = try InProcessSocialWorld()
        try world.instance.createUser("me@example.com")
        let session = try world.instance.session("me@example.com")
        #expect(try world.instance.reauthenticate(session).status == 200, "so the connect endpoints read their bodies")
        let mount = world.instance.mount
        let client = world.instance.client
        let endpoints = ["example/token/", "example/code/", "example/connect/token/", "example/connect/code/"]
        let bodies: [(String, String)] = [
            ("malformed JSON", #"{"id_token": "#),
            ("non-object", #"["id_token"]"#),
            ("wrong types", #"{"id_token": 5, "code": {"a": 1}, "callback_url": [], "code_verifier": true, "client_id": 3}"#),
            ("missing fields", "{}"),
            ("oversized token", "{\"id_token\": \"\(String(repeating: "a", count: 40_000))\", \"code\": \"x\", \"callback_url\": \"http://127.0.0.1/\"}"),
            ("NUL bytes", #"{"id_token": "a\u0000b.c.d", "code": "a\u0000b", "callback_url": "http://127.0.0.1/\u0000"}"#),
            ("garbage token", #"{"id_token": "eyJhbGciOiJSUzI1NiJ9.e30.AAAA", "code": "garbage", "callback_url": "http://127.0.0.1:1/"}"#),
            ("foreign client_id", #"{"id_token": "a.b.c", "code": "c", "callback_url": "http://127.0.0.1:1/", "client_id": "other"}"#),
            ("only an access token", #"{"access_token": "opaque"}"#),
        ]
        for endpoint in endpoints {
            for (name, body) in bodies {
                let response = try client.post("\(mount)/social/\(endpoint)", json: body, headers: [session.bearer])
                #expect((400..<500).contains(response.status), "\(endpoint) \(name): \(response.status) \(response.text)")
                #expect(response.header("Content-Type") == "application/json" || response.status == 413, "\(endpoint) \(name)")
            }
            let form = try client.request("POST", "\(mount)/social/\(endpoint)", headers: [("Content-Type", "text/plain"), session.bearer], body: Array("id_token=x".utf8))
            #expect(form.status == 415, "\(endpoint) text/plain")
        }
        let unknown = try world.post("nobody/token/", ["id_token": "a.b.c"])
        #expect(unknown.status == 404)
        #expect(unknown.json?["code"]?.string == "provider_not_configured")
        let mismatch = try world.post("example/token/", ["id_token": "a.b.c", "client_id": "other"])
        #expect(mismatch.json?["code"]?.string == "client_id_mismatch")
        for path in ["social/accounts/abc/", "social/accounts/99999999999999999999999/", "social/accounts/-1/"] {
            let response = try client.request("DELETE", "\(mount)/\(path)", headers: [session.bearer])
            #expect(response.status == 404, "\(path)")
        }
        #expect(try client.get("\(mount)/social/accounts/", headers: [("Authorization", "Bearer garbage")]).status == 401)
        #expect(try world.userCount() == 1)
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(!world.instance.log.contains("request failed"), "no 5xx path was taken")
    }

    @Test func socialEndpointsAreRoutedOnlyWithAProvider() throws {
        let instance = try InProcessInstance()
        #expect(try instance.client.get("\(instance.mount)/social/providers/").status == 404)
    }
}
