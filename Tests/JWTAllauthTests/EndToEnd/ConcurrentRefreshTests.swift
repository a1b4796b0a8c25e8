import Foundation
import Testing
@testable import AllauthCore

/// 32 simultaneous refreshes of one token, 20 times over, through real nginx and the worker pool:
/// strict rotation rotates it once and revokes the session; a grace window gives all one successor.
@Suite(.serialized)
struct ConcurrentRefreshTests {
    @Test func withStrictRotationConcurrentRefreshesOfOneTokenRotateExactlyOnceAndRevokeTheSession() throws {
        // rotation_grace 0s: the reference's behaviour, where every replay is a theft.
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "0s"])
        try instance.createUser("race@example.com")
        for run in 1...20 {
            let token = try instance.session("race@example.com").refresh
            let statuses = instance.refreshSimultaneously(token, count: 32)
            let winners = statuses.filter { $0.0 == 200 }
            #expect(winners.count == 1, "run \(run): \(statuses.map(\.0))")
            #expect(statuses.allSatisfy { $0.0 == 200 || $0.0 == 401 }, "run \(run): \(statuses.map(\.0))")
            let sessionID = try JWTParts(token).claims["session"]?.string ?? ""
            #expect(try instance.whitelistRows(session: sessionID) == 0, "run \(run): the replays revoked the session")
            if let successor = winners.first?.1 {
                #expect(try instance.refresh(cookie: successor).status == 401, "run \(run): the successor is dead too")
            }
        }
    }

    @Test func withAGraceWindowConcurrentRefreshesShareOneSuccessor() throws {
        let instance = try TestInstance(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "10s"])
        try instance.createUser("grace@example.com")
        for run in 1...20 {
            let token = try instance.session("grace@example.com").refresh
            let results = instance.refreshSimultaneously(token, count: 32)
            #expect(results.allSatisfy { $0.0 == 200 }, "run \(run): \(results.map(\.0))")
            let successors = Set(results.compactMap { $0.1.flatMap { try? JWTParts($0).claims["jti"]?.string } })
            #expect(successors.count == 1, "run \(run): one successor for all, got \(successors.count)")
            let sessionID = try JWTParts(token).claims["session"]?.string ?? ""
            #expect(try instance.whitelistRows(session: sessionID) == 1)
            // The successor works; the original, now two generations old, does not.
            let successor = try #require(results.first?.1)
            let next = try #require(ClientSession(try instance.refresh(cookie: successor)))
            #expect(try instance.refresh(cookie: token).status == 401, "run \(run): an older ancestor revokes the session")
            #expect(try instance.refresh(cookie: next.refresh).status == 401)
        }
    }
}
