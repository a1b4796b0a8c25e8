import Foundation
import Testing
@testable import AllauthDomain

/// One id_token presented eight times at once across the workers, through real nginx: exactly one
/// login (`SocialLoginTests` tries it once on every endpoint in process).
@Suite(.serialized)
struct SocialTokenRaceTests {
    @Test func anIDTokenPresentedManyTimesAtOnceLogsInOnce() throws {
        let world = try SocialWorld()
        let user = SocialWorld.user("u-once", "once@example.com")
        #expect(try world.tokenLogin(try world.provider.idToken(user: user)).status == 200)
        let raced = try world.provider.idToken(user: user)
        let before = try world.instance.whitelistRows(userID: try #require(try UserStore(world.instance.database()).find(email: "once@example.com")).id)
        let client = world.instance.client
        let path = "\(world.instance.mount)/social/example/token/"
        let statuses = simultaneously(8) { _ in (try? client.post(path, json: #"{"id_token": "\#(raced)"}"#))?.status ?? -1 }
        #expect(statuses.sorted() == [200] + Array(repeating: 401, count: 7))
        let owner = try #require(try UserStore(world.instance.database()).find(email: "once@example.com"))
        #expect(try world.instance.whitelistRows(userID: owner.id) == before + 1)
    }
}
