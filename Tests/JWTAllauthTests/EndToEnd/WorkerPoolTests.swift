import AllauthCore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The running service through real nginx: error shapes, respawn, graceful stop, reload.
@Suite(.serialized)
struct WorkerPoolTests {
    @Test func healthAnswersThroughNginxAfterCheckingTheDatabase() throws {
        let instance = try TestInstance()
        let response = try instance.client.get("/jwt-allauth/health/")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.json?["status"]?.string == "ok")
        #expect(response.json?["database"]?.string == "ok")
        // 127.0.0.1 is dev.conf's monitoring address: it reads the release too (HealthTests: others do not).
        #expect(response.json?["version"]?.string == Version.release)
    }

    @Test func errorsAreJSONInTheSpecShape() throws {
        let instance = try TestInstance()
        let client = instance.client

        let notFound = try client.get("/jwt-allauth/no-such-thing/")
        #expect(notFound.status == 404)
        #expect(notFound.json?["detail"]?.string != nil)

        let withoutSlash = try client.get("/jwt-allauth/health")
        #expect(withoutSlash.status == 404)

        let wrongMethod = try client.post("/jwt-allauth/health/", json: "{}")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.json?["detail"]?.string == "Method \"POST\" not allowed.")
        #expect(wrongMethod.header("Allow") == "GET, HEAD, OPTIONS")

        let loginGet = try client.get("/jwt-allauth/login/")
        #expect(loginGet.status == 405)
        #expect(loginGet.header("Allow") == "POST, OPTIONS")

        let tooLarge = try client.request("POST", "/jwt-allauth/login/", headers: [("Content-Type", "application/json")],
                                          body: [UInt8](repeating: 0x20, count: 70_000))
        #expect(tooLarge.status == 413)
        #expect(tooLarge.header("Content-Type") == "application/json")
        #expect(tooLarge.json?["code"]?.string == "payload_too_large")

        let malformed = try client.post("/jwt-allauth/login/", json: "{\"email\": ")
        #expect(malformed.status == 400)
        #expect(malformed.json?["detail"]?.string?.hasPrefix("JSON parse error") == true)

        let notAnObject = try client.post("/jwt-allauth/login/", json: "[1]")
        #expect(notAnObject.status == 400)
        #expect(notAnObject.json?["non_field_errors"]?[0]?.string == "Invalid data. Expected a dictionary, but got list.")

        let badUTF8 = try client.request("POST", "/jwt-allauth/login/", headers: [("Content-Type", "application/json")],
                                         body: Array("{\"email\":\"".utf8) + [0xff, 0xfe] + Array("\"}".utf8))
        #expect(badUTF8.status == 400)
        // After all of that, nobody died.
        #expect(try client.get("/jwt-allauth/health/").status == 200)
    }

    @Test func aKilledWorkerIsRespawnedWithinASecondWhileRequestsContinue() throws {
        let instance = try TestInstance()
        let before = instance.workerPIDs
        #expect(before.count == 2)
        let stop = Atomic<Bool>(false)
        let answered = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let client = instance.client
        let load = Thread {
            while !stop.load(ordering: .relaxed) {
                if let response = try? client.get("/jwt-allauth/health/"), response.status == 200 {
                    answered.add(1, ordering: .relaxed)
                } else {
                    failed.add(1, ordering: .relaxed)
                }
            }
        }
        load.start()
        usleep(300_000)
        let victim = before[0]
        kill(victim, SIGKILL)
        let killedAt = Date()
        var respawnedAfter: TimeInterval?
        while Date().timeIntervalSince(killedAt) < 3 {
            let now = instance.workerPIDs
            if now.count == 2 && !now.contains(victim) {
                respawnedAfter = Date().timeIntervalSince(killedAt)
                break
            }
            usleep(5_000)
        }
        let answeredAtRespawn = answered.load(ordering: .relaxed)
        usleep(500_000)
        stop.store(true, ordering: .relaxed)
        while !load.isFinished { usleep(10_000) }
        #expect(respawnedAfter != nil && respawnedAfter! < 1.0, "respawned after \(String(describing: respawnedAfter)) s")
        // Requests kept being answered after the kill; a request that was inside the killed
        // worker at that instant may fail, nothing more.
        #expect(answered.load(ordering: .relaxed) > answeredAtRespawn + 10)
        #expect(failed.load(ordering: .relaxed) <= 4)
        let log = try String(contentsOf: instance.directory.appendingPathComponent("dev.log"), encoding: .utf8)
        #expect(log.contains("worker died") && log.contains("signal 9"))
    }

    @Test func sigtermStopsEveryProcessRemovesTheSocketAndExitsZero() throws {
        let instance = try TestInstance()
        guard let master = instance.masterPID else {
            Issue.record("no master process")
            return
        }
        let workers = instance.workerPIDs
        #expect(workers.count == 2)
        let socket = instance.directory.appendingPathComponent("run/jwt-allauth.sock").path
        #expect(FileManager.default.fileExists(atPath: socket))
        // Signal the master directly, as systemd would; `dev` reaps it and stops nginx.
        kill(master, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while instance.process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!instance.process.isRunning)
        #expect(kill(master, 0) != 0, "master still running")
        for pid in workers { #expect(kill(pid, 0) != 0, "worker \(pid) still running") }
        #expect(!FileManager.default.fileExists(atPath: socket))
        let log = try String(contentsOf: instance.directory.appendingPathComponent("dev.log"), encoding: .utf8)
        #expect(log.contains("master stopping") && log.contains("master stopped"))
        #expect(log.components(separatedBy: "worker exited").count - 1 == 2)
    }

    @Test func serveExitsZeroOnSigterm() throws {
        let instance = try TestInstance()
        instance.stop()
        // Same instance directory, now with `serve` alone, so its exit status is ours to read.
        let serve = Process()
        serve.executableURL = TestInstance.binary
        serve.arguments = ["serve", "--config", instance.configPath]
        serve.environment = instance.environment
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        let socket = instance.directory.appendingPathComponent("run/jwt-allauth.sock").path
        let deadline = Date().addingTimeInterval(20)
        // Two workers and the mail process.
        while TestInstance.childPIDs(of: serve.processIdentifier).count < 3 && Date() < deadline { usleep(20_000) }
        let workers = TestInstance.childPIDs(of: serve.processIdentifier)
        #expect(workers.filter { TestInstance.commandLine($0).contains(" worker ") }.count == 2)
        #expect(workers.contains { TestInstance.commandLine($0).contains(" mailer ") })
        serve.terminate()
        serve.waitUntilExit()
        #expect(serve.terminationReason == .exit)
        #expect(serve.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: socket))
        for pid in workers { #expect(kill(pid, 0) != 0, "child \(pid) outlived the master") }
    }

    @Test func sighupAppliesTheNewConfigWithoutFailingARequest() throws {
        let instance = try TestInstance()
        try instance.createUser("reload@example.com")
        let lifetime = { () throws -> Int in
            let access = try instance.login("reload@example.com").json?["access"]?.string ?? ""
            let claims = try JWTParts(access).claims
            return (claims["exp"]?.int ?? 0) - (claims["iat"]?.int ?? 0)
        }
        #expect(try lifetime() == 1800)
        let stop = Atomic<Bool>(false)
        let answered = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let client = instance.client
        let load = Thread {
            while !stop.load(ordering: .relaxed) {
                do {
                    let response = try client.get("/jwt-allauth/health/")
                    if response.status == 200 { answered.add(1, ordering: .relaxed) } else { failures.withLock { $0.append("\(response.status)") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        load.start()
        usleep(300_000)
        let before = instance.workerPIDs
        var config = try String(contentsOfFile: instance.configPath, encoding: .utf8)
        config = config.replacingOccurrences(of: "access_lifetime: 30m", with: "access_lifetime: 5m")
        try config.write(toFile: instance.configPath, atomically: true, encoding: .utf8)
        kill(instance.masterPID!, SIGHUP)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let now = instance.workerPIDs
            if now.count == 2 && Set(now).isDisjoint(with: before) { break }
            usleep(20_000)
        }
        usleep(300_000)
        stop.store(true, ordering: .relaxed)
        while !load.isFinished { usleep(10_000) }
        #expect(Set(instance.workerPIDs).isDisjoint(with: before), "workers were replaced")
        #expect(failures.withLock { $0 }.isEmpty, "failed: \(failures.withLock { $0 })")
        #expect(answered.load(ordering: .relaxed) > 20)
        #expect(try lifetime() == 300)
    }

    @Test func aBrokenConfigOnReloadKeepsTheRunningService() throws {
        let instance = try TestInstance()
        let before = instance.workerPIDs
        let original = try String(contentsOfFile: instance.configPath, encoding: .utf8)
        try (original + "\nbogus:\n  key: 1\n").write(toFile: instance.configPath, atomically: true, encoding: .utf8)
        kill(instance.masterPID!, SIGHUP)
        usleep(1_000_000)
        #expect(instance.workerPIDs == before, "\((try? String(contentsOf: instance.directory.appendingPathComponent("dev.log"), encoding: .utf8)) ?? "")")
        #expect(try instance.client.get("/jwt-allauth/health/").status == 200)
        let log = try String(contentsOf: instance.directory.appendingPathComponent("dev.log"), encoding: .utf8)
        #expect(log.contains("reload refused") && log.contains("bogus"), "\(log)")
    }
}

/// The three parts of a compact JWS, decoded for assertions.
struct JWTParts {
    let header: JSONValue
    let claims: JSONValue
    let signingInput: [UInt8]
    let signature: [UInt8]

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { throw DecodeError() }
        header = try JSONValue.parse(try Self.base64url(parts[0]))
        claims = try JSONValue.parse(try Self.base64url(parts[1]))
        signingInput = Array((parts[0] + "." + parts[1]).utf8)
        signature = try Self.base64url(parts[2])
    }

    struct DecodeError: Error {}

    static func base64url(_ text: String) throws -> [UInt8] {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { throw DecodeError() }
        return Array(data)
    }

    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
