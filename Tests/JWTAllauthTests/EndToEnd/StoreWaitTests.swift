import Foundation
import Testing
@testable import AllauthDomain

#if canImport(Glibc)
import Glibc
#endif

/// Every wait for the store ends at `database.busy_timeout`, through real nginx and workers: a
/// writer lock held from another process, and a worker frozen (SIGSTOP) in the middle of a write
/// transaction. Past the timeout a request answers 503 JSON with `Retry-After`; once the lock is
/// free the service answers normally, and a write killed half-way leaves nothing behind.
@Suite(.serialized, .enabled(if: TestEngine.isSQLite, "SQLite's writer lock and the SQLite transaction probe"))
struct StoreWaitTests {
    static let busyTimeout = 1.0
    /// Scheduling on a loaded 2-core machine, nginx and the answer's own work.
    static let margin = 1.5
    static let newPassword = "Ch4nged-Passw0rd"

    private func instance(_ extra: [String: String] = [:]) throws -> TestInstance {
        try TestInstance(environment: ["JWT_ALLAUTH_DATABASE_BUSY_TIMEOUT": String(Self.busyTimeout)].merging(extra) { $1 })
    }

    /// Runs `body`, answering its result and how long it took.
    private func timed<T>(_ body: () throws -> T) rethrows -> (T, TimeInterval) {
        let started = Date()
        let value = try body()
        return (value, Date().timeIntervalSince(started))
    }

    /// A 503 in the service's own shape: JSON `code: busy` and a `Retry-After`.
    private func isBusyAnswer(_ response: HTTPResponse) -> Bool {
        response.status == 503 && response.json?["code"]?.string == "busy" && Int(response.header("Retry-After") ?? "") != nil
    }

    /// Polls `body` until it answers 200, for `timeout` at most; answers the last response.
    private func eventually200(timeout: TimeInterval = 10, _ body: () throws -> HTTPResponse) throws -> HTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        var last = try body()
        while last.status != 200 && Date() < deadline {
            usleep(100_000)
            last = try body()
        }
        return last
    }

    @Test func aWriterLockHeldByAnotherProcessCostsALoginAndARefreshTheBusyTimeoutThenServiceResumes() throws {
        let instance = try instance()
        try instance.createUser("held@example.com")
        let session = try instance.session("held@example.com")
        let holder = try LockHolder(instance.directory.appendingPathComponent("jwt-allauth.sqlite3-writer.lock").path)
        defer { holder.release() }

        let (login, loginTime) = try timed { try instance.login("held@example.com") }
        #expect(isBusyAnswer(login), "\(login.status) \(login.text)")
        #expect(loginTime < Self.busyTimeout + Self.margin, "the login waited \(loginTime) s")
        let (refresh, refreshTime) = try timed { try instance.refresh(cookie: session.refresh) }
        #expect(isBusyAnswer(refresh), "\(refresh.status) \(refresh.text)")
        #expect(refreshTime < Self.busyTimeout + Self.margin, "the refresh waited \(refreshTime) s")
        #expect(instance.workerPIDs.count == instance.expectedWorkers, "no worker died of the wait")

        holder.release()
        let (afterLogin, afterTime) = try timed { try instance.login("held@example.com") }
        #expect(afterLogin.status == 200 && afterTime < Self.margin, "\(afterLogin.status) after \(afterTime) s")
        // The refresh that answered 503 rotated nothing: the same token rotates now.
        #expect(try instance.refresh(cookie: session.refresh).status == 200)
    }

    /// A password change (one transaction: new hash, every session revoked, a replacement
    /// session) is frozen just before its COMMIT by SIGSTOP with the write locks held.
    private struct FrozenChange {
        let instance: TestInstance
        let changer: ClientSession
        let other: ClientSession
        let worker: pid_t
        let answer: AsyncResult<HTTPResponse>
    }

    private func freezePasswordChange() throws -> FrozenChange {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("stop-\(UUID().uuidString.prefix(8))").path
        let instance = try instance(["JWT_ALLAUTH_TEST_STOP_BEFORE_COMMIT": marker])
        try instance.createUser("changer@example.com")
        try instance.createUser("other@example.com")
        let changer = try instance.session("changer@example.com")
        let other = try instance.session("other@example.com")
        // nginx drops idle upstream connections after its keepalive_timeout (3 s): none is left
        // pinned to a thread of the worker about to freeze, so requests below reach a live one.
        usleep(3_500_000)
        try "UPDATE users SET password".write(toFile: marker, atomically: true, encoding: .utf8)
        let body = #"{"old_password":"\#(TestInstance.strongPassword)","new_password1":"\#(Self.newPassword)","new_password2":"\#(Self.newPassword)"}"#
        let client = instance.client
        let answer = AsyncResult { try client.request("POST", "/jwt-allauth/password/change/",
                                                      headers: [changer.bearer, ("Content-Type", "application/json")],
                                                      body: Array(body.utf8), timeout: 60) }
        let deadline = Date().addingTimeInterval(15)
        var stopped: pid_t?
        while stopped == nil && Date() < deadline {
            stopped = instance.workerPIDs.first { Self.isStopped($0) }
            usleep(20_000)
        }
        let worker = try #require(stopped, "a worker stopped itself before the password change's COMMIT")
        return FrozenChange(instance: instance, changer: changer, other: other, worker: worker, answer: answer)
    }

    static func isStopped(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first == "T"
    }

    /// While the frozen worker holds the lock, the other worker answers 503 within the timeout.
    private func expectOthersAnswerBusyInTime(_ frozen: FrozenChange) throws {
        for _ in 0..<3 {
            let (refresh, elapsed) = try timed { try frozen.instance.refresh(cookie: frozen.other.refresh) }
            #expect(isBusyAnswer(refresh), "\(refresh.status) \(refresh.text)")
            #expect(elapsed < Self.busyTimeout + Self.margin, "the refresh waited \(elapsed) s")
        }
        let (login, elapsed) = try timed { try frozen.instance.login("other@example.com") }
        #expect(isBusyAnswer(login) && elapsed < Self.busyTimeout + Self.margin, "\(login.status) after \(elapsed) s")
    }

    @Test func aWorkerStoppedInsideAWriteCosts503sNotHangsAndFinishesItsWriteOnSIGCONT() throws {
        let frozen = try freezePasswordChange()
        try expectOthersAnswerBusyInTime(frozen)

        kill(frozen.worker, SIGCONT)
        let changed = try #require(frozen.answer.wait(timeout: 30))
        #expect(changed.status == 200, "the frozen change completed: \(changed.status) \(changed.text)")
        let instance = frozen.instance
        #expect(try eventually200 { try instance.refresh(cookie: frozen.other.refresh) }.status == 200)
        // All of the change landed: the new password, the old sessions revoked.
        #expect(try instance.login("changer@example.com", password: Self.newPassword).status == 200)
        #expect(try instance.login("changer@example.com").status == 401)
        #expect(try instance.refresh(cookie: frozen.changer.refresh).status == 401)
    }

    @Test func aWorkerKilledWhileStoppedInsideAWriteLeavesNothingHalfWritten() throws {
        let frozen = try freezePasswordChange()
        try expectOthersAnswerBusyInTime(frozen)
        let instance = frozen.instance
        let user = try #require(try UserStore(instance.database()).find(email: "changer@example.com"))
        let sessionsBefore = try instance.whitelistRows(userID: user.id)

        kill(frozen.worker, SIGKILL)
        let lost = try #require(frozen.answer.wait(timeout: 30))
        #expect(lost.status != 200, "the killed change did not claim success")
        #expect(try eventually200 { try instance.refresh(cookie: frozen.other.refresh) }.status == 200, "service resumed")
        // None of the change landed: old password, old sessions, a sound file.
        #expect(try instance.whitelistRows(userID: user.id) == sessionsBefore)
        #expect(try UserStore(instance.database()).find(email: "changer@example.com")?.password == user.password)
        #expect(try instance.database().first("PRAGMA integrity_check") { $0.string(0) } == "ok")
        #expect(try instance.refresh(cookie: frozen.changer.refresh).status == 200)
        #expect(try instance.login("changer@example.com").status == 200)
        #expect(try instance.login("changer@example.com", password: Self.newPassword).status == 401)
    }
}

/// `flock -o FILE sleep 60` from util-linux: another process holding the writer lock, as an
/// operator's shell would. `-o` keeps the lock in flock itself, so ending it releases the lock.
final class LockHolder {
    private let process = Process()

    init(_ path: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        process.arguments = ["-o", path, "sleep", "60"]
        try process.run()
        // Held once a non-blocking attempt from here fails; bounded.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if try ProcessRunner.run("/usr/bin/flock", ["-n", path, "true"]).status != 0 { return }
            usleep(20_000)
        }
        release()
        throw HolderError.notHeld
    }

    enum HolderError: Error { case notHeld }

    func release() {
        guard process.isRunning else { return }
        // flock waits for its command and then exits, releasing the lock.
        for child in TestInstance.childPIDs(of: process.processIdentifier) { kill(child, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { release() }
}
