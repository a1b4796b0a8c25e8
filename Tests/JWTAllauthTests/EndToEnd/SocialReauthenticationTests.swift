import Foundation
import Testing
@testable import JWTAllauth

/// Connecting a social provider needs a recent reauthentication too (issue 18.5), against the
/// tests' own OpenID provider through real nginx.
@Suite(.serialized)
struct SocialReauthenticationTests {
    static let email = ReauthenticationTests.email

    @Test func connectingASocialProviderNeedsItToo() throws {
        let world = try SocialWorld()
        try world.instance.createUser(Self.email)
        let session = try world.instance.session(Self.email)
        let token = try world.provider.idToken(user: SocialWorld.user("u-careful", Self.email))
        let refused = try world.post("example/connect/token/", ["id_token": token], headers: [session.bearer])
        #expect(refused.status == 401 && refused.json?["code"]?.string == "reauthentication_required", "\(refused.text)")
        #expect(try world.count("SELECT COUNT(*) FROM social_accounts") == 0)
        #expect(try world.instance.reauthenticate(session).status == 200)
        let connected = try world.post("example/connect/token/", ["id_token": try world.provider.idToken(user: SocialWorld.user("u-careful", Self.email))],
                                       headers: [session.bearer])
        #expect(connected.status == 201, "\(connected.text)")
    }
}
