import Foundation
import Testing
@testable import AllauthCore

#if canImport(Glibc)
import Glibc
#endif

/// PostgreSQL failing under a refresh load: the backend serving a worker killed with -9 (the
/// postmaster then resets every backend and recovers), and a restart (`pg_ctl restart -m fast`).
/// During the outage a client gets a JSON 503 and tries again; after it, nothing fails, no worker
/// died, and no session was lost (every chain's last token refreshes) or duplicated (one live
/// whitelist row per chain).
@Suite(.serialized)
struct PostgresFaultTests {
    static let clients = 16

    @Test func killingTheBackendOfAWorkerUnderRefreshLoadAnswersOnlyJSON503sAndLosesNoSession() throws {
        try underRefreshLoad { instance, database in
            let worker = try #require(instance.workerPIDs.first)
            let backends = try database.backends(ofClientProcess: worker)
            let backend = try #require(backends.first, "the worker holds a connection")
            // What an operator sees in pg_stat_activity names the same process. (Contains, not equals:
            // under load another thread of the worker may open its connection between the two looks.)
            #expect(try database.backends(application: "jwt-allauth worker \(worker)").contains(backend))
            database.cluster.killBackend(backend)
            #expect(instance.eventually(timeout: 10) { kill(backend, 0) != 0 }, "the backend is gone")
        }
    }

    @Test func aPostgresRestartUnderRefreshLoadAnswersOnlyJSON503sAndLosesNoSession() throws {
        try underRefreshLoad { _, database in
            let before = database.cluster.postmasterPID
            try database.cluster.restart()
            #expect(database.cluster.postmasterPID != before, "a new postmaster")
        }
    }

    @Test func afterARestartTheFirstRequestOnEachWorkerThreadSucceeds() throws {
        let instance = try TestInstance(engine: .postgresql)
        let database = try #require(instance.postgres)
        try instance.createUser("idle@example.com")
        let count = instance.expectedWorkers * instance.threadsPerWorker
        let sessions = try (0..<count).map { _ in try instance.session("idle@example.com").refresh }
        // Many refreshes at once: most worker threads open their connection now.
        let warm = Self.refreshAll(sessions, on: instance)
        #expect(warm.allSatisfy { $0.status == 200 }, "\(warm.map(\.status))")

        try database.cluster.restart()
        // Every connection those threads hold is dead; the first statement on each finds out, and
        // the request it belongs to must not pay for it.
        let after = Self.refreshAll(warm.compactMap(\.refresh), on: instance)
        #expect(after.count == count && after.allSatisfy { $0.status == 200 }, "\(after.map(\.status))")
    }

    /// Refreshes each token once, all at once; answers (status, successor) per token.
    private static func refreshAll(_ tokens: [String], on instance: TestInstance) -> [(status: Int, refresh: String?)] {
        let client = instance.client, path = "\(instance.mount)/refresh/"
        return simultaneously(tokens.count) { index in
            (try? client.post(path, headers: [("Cookie", "refresh_token=\(tokens[index])")])).map { ($0.status, $0.cookie("refresh_token")) } ?? (-1, nil)
        }
    }

    /// Starts `clients` refresh chains on a PostgreSQL instance, runs `fault` once they are going,
    /// and checks what the clients saw and what the database holds afterwards.
    private func underRefreshLoad(_ fault: (TestInstance, PostgresDatabase) throws -> Void) throws {
        let instance = try TestInstance(engine: .postgresql)
        let database = try #require(instance.postgres)
        try instance.createUser("fleet@example.com")
        let sessions = try (0..<Self.clients).map { _ in try instance.session("fleet@example.com") }
        let sessionIDs = try sessions.map { try #require(try JWTParts($0.refresh).claims["session"]?.string) }
        let workers = instance.workerPIDs
        let load = RefreshLoad(instance, sessions: sessions, maximumDuration: 120)
        load.start()
        #expect(instance.eventually(timeout: 30) { load.answered >= 200 }, "the load is running")

        do { try fault(instance, database) } catch { _ = load.stop(); throw error }
        let atFault = load.answered
        #expect(instance.eventually(timeout: 30) { load.answered >= atFault + 200 }, "200s again within 30 s")
        // Recovered means recovered on every worker thread, not only on the ones the load hit first.
        let failedAtRecovery = load.failed
        usleep(2_000_000)
        let failedAfterRecovery = load.failed - failedAtRecovery

        let tally = load.stop()
        print("PostgresFaultTests: \(tally.answered) answered, failures \(tally.failures), \(failedAfterRecovery) after recovery")
        #expect(failedAfterRecovery == 0, "no failure once service is back: \(tally.failures)")
        #expect(Set(tally.failures.keys).isSubset(of: [503]), "only 503s during the outage, no 500/502/504: \(tally.failures)")
        #expect(tally.failuresWithoutJSON == 0, "every 503 is JSON")
        #expect(tally.lostSessions == 0, "every chain's last token still refreshes")
        #expect(instance.workerPIDs == workers, "no worker died")
        for id in sessionIDs {
            #expect(try instance.whitelistRows(session: id) == 1, "one live row for session \(id)")
        }
    }
}
