import Foundation
import Testing
@testable import AllauthCore

/// Several hosts on one PostgreSQL: two `jwt-allauth dev` instances on this machine (`TwoHosts`).
/// Whatever one host decides — a rotation, a revocation, a throttle, a mail claimed — holds on
/// the other, because the database is the only state they share.
@Suite(.serialized)
struct MultiHostTests {
    @Test func withStrictRotationThirtyTwoRefreshesOfOneTokenSplitAcrossHostsRotateItExactlyOnce() throws {
        let hosts = try TwoHosts(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "0s"])
        try hosts.a.createUser("race@example.com")
        for run in 1...10 {
            let token = try hosts.host(run).session("race@example.com").refresh
            let results = hosts.refreshSimultaneously(token, count: 32)
            let winners = results.filter { $0.status == 200 }
            #expect(winners.count == 1, "run \(run): \(results.map(\.status))")
            #expect(results.allSatisfy { $0.status == 200 || $0.status == 401 }, "run \(run): \(results.map(\.status))")
            // The losers are replays: the session is revoked, the winner's successor with it.
            let session = try JWTParts(token).claims["session"]?.string ?? ""
            #expect(try hosts.a.whitelistRows(session: session) == 0, "run \(run)")
            if let successor = winners.first?.refresh {
                #expect(try hosts.a.refresh(cookie: successor).status == 401, "run \(run)")
                #expect(try hosts.b.refresh(cookie: successor).status == 401, "run \(run)")
            }
        }
    }

    @Test func withTheDefaultGraceRefreshesOfOneTokenOnBothHostsAllGetTheSameSuccessor() throws {
        let hosts = try TwoHosts()
        try hosts.a.createUser("grace@example.com")
        for run in 1...10 {
            let token = try hosts.host(run).session("grace@example.com").refresh
            let results = hosts.refreshSimultaneously(token, count: 32)
            #expect(results.allSatisfy { $0.status == 200 }, "run \(run): \(results.map(\.status))")
            let successors = Set(results.compactMap { $0.refresh.flatMap { try? JWTParts($0).claims["jti"]?.string } })
            #expect(successors.count == 1, "run \(run): one successor whichever host answered, got \(successors.count)")
            let session = try JWTParts(token).claims["session"]?.string ?? ""
            #expect(try hosts.b.whitelistRows(session: session) == 1, "run \(run): one live row")
            // The successor works on the other host; then the original, two generations old, is a theft.
            let successor = try #require(results.first?.refresh)
            let next = try #require(ClientSession(try hosts.host(run + 1).refresh(cookie: successor)), "run \(run)")
            #expect(try hosts.host(run).refresh(cookie: token).status == 401, "run \(run)")
            #expect(try hosts.host(run + 1).refresh(cookie: next.refresh).status == 401, "run \(run): revoked on both")
        }
    }

    @Test func aTokenRotatedOnOneHostAndReplayedOnTheOtherRevokesTheSessionOnBoth() throws {
        let hosts = try TwoHosts(environment: ["JWT_ALLAUTH_TOKENS_ROTATION_GRACE": "0s"])
        try hosts.a.createUser("stolen@example.com")
        let login = try hosts.a.session("stolen@example.com")
        let rotated = try #require(ClientSession(try hosts.a.refresh(cookie: login.refresh)), "host A rotates")

        let replay = try hosts.b.refresh(cookie: login.refresh)
        #expect(replay.status == 401, "host B sees the rotated token as a replay")
        #expect(try hosts.a.refresh(cookie: rotated.refresh).status == 401, "the holder's successor is dead on A")
        #expect(try hosts.b.refresh(cookie: rotated.refresh).status == 401, "and on B")
        let session = try JWTParts(login.refresh).claims["session"]?.string ?? ""
        #expect(try hosts.b.whitelistRows(session: session) == 0)
        // Other sessions of the same user are not touched.
        let other = try hosts.b.session("stolen@example.com")
        #expect(try hosts.a.refresh(cookie: other.refresh).status == 200)
    }

    @Test func aLoginThrottleReachedThroughOneHostHoldsOnTheOther() throws {
        let hosts = try TwoHosts()
        try hosts.a.createUser("target@example.com")
        for attempt in 1...5 {
            #expect(try hosts.a.login("target@example.com", password: "wrong-\(attempt)").status == 401)
        }
        let limited = try hosts.b.login("target@example.com")
        #expect(limited.status == 429, "the correct password does not get past the limit on host B")
        #expect(limited.json?["code"]?.string == "throttled")
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 > 0)
        #expect(try hosts.a.login("target@example.com").status == 429)
    }

    @Test func mailQueuedOnBothHostsIsSentOnceEachByBothMailProcesses() throws {
        // A slow server (0.2 s a message), so that neither mail process can drain the queue alone.
        let sink = try SMTPSink(SMTPSink.Options(delay: 0.2))
        let hosts = try TwoHosts(environment: sink.environment.merging([
            "JWT_ALLAUTH_MAIL_POLL_INTERVAL": "0.1", "JWT_ALLAUTH_THROTTLE_SCALE": "100",
        ]) { $1 })
        let addresses = (0..<20).map { "person\($0)@example.com" }
        for (index, address) in addresses.enumerated() {
            #expect(try hosts.host(index).register(address).status == 201, "\(address)")
        }
        let received = try sink.waitForMessages(addresses.count, timeout: 60)
        // A second mail process sending a row again would show up within a poll or two.
        usleep(1_500_000)
        let settled = sink.messages
        #expect(settled.count == addresses.count, "\(settled.map { $0.envelopeTo ?? "?" })")
        #expect(Set(settled.compactMap(\.messageID)).count == addresses.count, "no Message-ID twice")
        #expect(Set(received.compactMap(\.envelopeTo)) == Set(addresses))
        let sentByA = hosts.a.log.components(separatedBy: "mail sent").count - 1
        let sentByB = hosts.b.log.components(separatedBy: "mail sent").count - 1
        #expect(sentByA + sentByB == addresses.count, "A sent \(sentByA), B sent \(sentByB)")
        #expect(sentByA > 0 && sentByB > 0, "both mail processes took part: A sent \(sentByA), B sent \(sentByB)")
    }
}
