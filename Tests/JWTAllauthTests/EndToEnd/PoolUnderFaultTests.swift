import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The worker pool under a refresh load of 24 clients while it is reloaded, stopped and killed:
/// no failed request for a reload or a graceful stop, no lost session for a kill.
@Suite(.serialized)
struct PoolUnderFaultTests {
    static let clients = 24
    // RS256: the signature after the commit takes most of a rotation, so a fault often lands
    // between the commit and the answer, as it does in production.

    private func sessions(_ instance: TestInstance) throws -> [ClientSession] {
        try instance.createUser("fleet@example.com")
        return try (0..<Self.clients).map { _ in try instance.session("fleet@example.com") }
    }

    /// Waits (bounded) until the master has `count` workers none of which is in `old`.
    private func waitForReplacement(_ instance: TestInstance, of old: [pid_t], timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let now = instance.workerPIDs
            if now.count == instance.expectedWorkers && Set(now).isDisjoint(with: old) { return true }
            usleep(20_000)
        }
        return false
    }

    /// Runs `faults` against an RS256 instance a second into a 24-client refresh load, and the
    /// load for a second more; answers what the clients saw.
    private func underRefreshLoad(_ faults: (TestInstance) -> Void) throws -> RefreshLoad.Tally {
        let instance = try TestInstance(algorithm: "RS256")
        let load = RefreshLoad(instance, sessions: try sessions(instance))
        load.start()
        usleep(1_000_000)
        faults(instance)
        usleep(1_000_000)
        return load.stop()
    }

    @Test func aReloadAndAWorkerStopUnderRefreshLoadFailNoRequest() throws {
        let tally = try underRefreshLoad { instance in
            let before = instance.workerPIDs
            kill(instance.masterPID ?? 0, SIGHUP)
            #expect(waitForReplacement(instance, of: before), "SIGHUP replaced every worker")
            usleep(500_000)
            let victim = instance.workerPIDs.first ?? 0
            kill(victim, SIGTERM)
            #expect(waitForReplacement(instance, of: [victim]), "the stopped worker was replaced")
        }
        #expect(tally.failed == 0, "failed requests: \(tally.failures)")
        #expect(tally.lostSessions == 0)
        #expect(tally.answered > 100, "answered \(tally.answered)")
    }

    @Test func aKilledWorkerUnderRefreshLoadLosesNoSession() throws {
        let tally = try underRefreshLoad { instance in
            let victim = instance.workerPIDs.first ?? 0
            kill(victim, SIGKILL)
            #expect(waitForReplacement(instance, of: [victim]), "the killed worker was replaced")
        }
        #expect(tally.lostSessions == 0, "a client whose answer died with the worker retried and kept its session")
        // Only the requests inside the killed worker fail, as JSON 503s.
        #expect(Set(tally.failures.keys).isSubset(of: [503]), "\(tally.failures)")
        #expect(tally.failed <= Self.clients && tally.failuresWithoutJSON == 0)
        #expect(tally.answered > 100)
    }

    @Test func devReloadsOnSighupAndLeavesNoChildBehindWhenItStops() throws {
        let instance = try TestInstance()
        let dev = instance.process.processIdentifier
        let children = TestInstance.childPIDs(of: dev)
        let workers = instance.workerPIDs
        #expect(children.count == 2, "nginx and the master")
        // A closed terminal sends SIGHUP.
        kill(dev, SIGHUP)
        #expect(waitForReplacement(instance, of: workers), "the pool reloaded")
        #expect(instance.process.isRunning, "dev is still running")
        #expect(Set(TestInstance.childPIDs(of: dev)) == Set(children), "same nginx, same master")
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200)
        instance.stop()
        for pid in children + instance.workerPIDs { #expect(kill(pid, 0) != 0, "\(pid) outlived dev") }
    }
}
