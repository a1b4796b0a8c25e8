import Foundation
import Testing

/// One worker that lets one thread take requests at a time (`server.running_threads` 1, the
/// sharpest case of the SQLite default's few) still answers at once while one of its requests waits for long: a login hashing, a
/// refresh waiting for a writer lock held by another process. The waiting thread gives up its turn
/// (`LongWait`); without that, every request behind it waits as long as it does.
@Suite(.serialized, .enabled(if: TestEngine.isSQLite, "the gate's default of few running threads is SQLite's"))
struct RunnerGateTests {
    static let email = "gate@example.com"

    private func instance(_ extra: [String: String]) throws -> TestInstance {
        try TestInstance(environment: ["JWT_ALLAUTH_SERVER_WORKERS": "1", "JWT_ALLAUTH_SERVER_RUNNING_THREADS": "1"].merging(extra) { $1 })
    }

    /// The slowest of `count` verify/ requests sent one after the other, while `busy` is not done.
    private func slowestVerify(_ instance: TestInstance, access: String, count: Int, while busy: AsyncResult<some Any>) throws -> (seconds: Double, answered: Int) {
        var slowest = 0.0, answered = 0
        for _ in 0..<count where !busy.isDone {
            let started = Date()
            let response = try instance.client.get("\(instance.mount)/verify/", headers: [("Authorization", "Bearer \(access)")])
            #expect(response.status == 200, "\(response.status) \(response.text)")
            slowest = max(slowest, Date().timeIntervalSince(started))
            answered += 1
        }
        return (slowest, answered)
    }

    @Test func verifyIsAnsweredWhileTheOnlyRunningThreadsLoginHashes() throws {
        // ~1 s of a core per hash on this machine: long next to a verify, short for a test.
        let instance = try instance(["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS": "3000000"])
        try instance.createUser(Self.email)
        // The first login re-hashes the test's cheap hash at 3M rounds; the next ones cost a full hash.
        let session = try instance.session(Self.email)
        let started = Date()
        #expect(try instance.login(Self.email).status == 200)
        let hashSeconds = Date().timeIntervalSince(started)

        let client = instance.client, mount = instance.mount
        let logins = AsyncResult {
            try client.post("\(mount)/login/", json: #"{"email":"\#(Self.email)","password":"Val1dPasw0rd!"}"#).status
        }
        usleep(100_000)  // the login is hashing by now
        let (slowest, answered) = try slowestVerify(instance, access: session.access, count: 50, while: logins)
        #expect(logins.wait(timeout: 30) == 200)
        #expect(answered >= 3, "verify/ answered \(answered) times during a \(hashSeconds) s hash")
        // Without the turn given up, the first verify waits for the whole hash.
        #expect(slowest < min(0.3, hashSeconds / 3), "the slowest verify/ took \(slowest) s; a hash takes \(hashSeconds) s")
    }

    @Test func verifyIsAnsweredWhileTheOnlyRunningThreadWaitsForAHeldWriterLock() throws {
        let busyTimeout = 2.0
        let instance = try instance(["JWT_ALLAUTH_DATABASE_BUSY_TIMEOUT": String(busyTimeout)])
        try instance.createUser(Self.email)
        let session = try instance.session(Self.email)
        let holder = try LockHolder(instance.directory.appendingPathComponent("jwt-allauth.sqlite3-writer.lock").path)
        defer { holder.release() }

        let client = instance.client, mount = instance.mount, refreshToken = session.refresh
        let refresh = AsyncResult {
            try client.post("\(mount)/refresh/", headers: [("Cookie", "refresh_token=\(refreshToken)")]).status
        }
        usleep(100_000)  // the refresh waits for the writer lock by now
        let (slowest, answered) = try slowestVerify(instance, access: session.access, count: 50, while: refresh)
        #expect(refresh.wait(timeout: busyTimeout + 10) == 503, "the refresh still meets the held lock")
        #expect(answered >= 3, "verify/ answered \(answered) times while the refresh waited \(busyTimeout) s")
        #expect(slowest < 0.3, "the slowest verify/ took \(slowest) s (the refresh waits \(busyTimeout) s)")
        holder.release()
        #expect(try instance.refresh(cookie: session.refresh).status == 200)
    }
}
