import Foundation
import Testing
@testable import AllauthRuntime
@testable import AllauthStore
@testable import AllauthDomain

/// Sends one HTTP request and answers the response: over loopback through nginx (`HTTPClient`)
/// or to the service in this process (`InProcessClient`).
protocol HTTPRequesting {
    func request(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8], timeout: TimeInterval) throws -> HTTPResponse
}

extension HTTPRequesting {
    func get(_ path: String, headers: [(String, String)] = []) throws -> HTTPResponse {
        try request("GET", path, headers: headers, body: [], timeout: 30)
    }

    func post(_ path: String, json: String? = nil, headers: [(String, String)] = []) throws -> HTTPResponse {
        var all = headers
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try request("POST", path, headers: all, body: Array((json ?? "").utf8), timeout: 30)
    }
}

/// What the flow suites need from an instance of the service, whichever way it runs: a real
/// `jwt-allauth dev` behind nginx (`TestInstance`) or the service called in this process
/// (`InProcessInstance`). The helpers below (sign-up, login, mail links, sessions, MFA) are
/// written once against it.
protocol ServiceInstance: AnyObject {
    associatedtype Client: HTTPRequesting
    var client: Client { get }
    /// The port the instance's public URL names (and its links carry).
    var port: Int { get }
    var mount: String { get }
    var configPath: String { get }
    /// The environment the instance runs with (`JWT_ALLAUTH_…` overrides included).
    var environment: [String: String] { get }
    /// Where this instance's store is: its SQLite file, or its database on the test cluster.
    var storeLocation: StoreLocation { get }
    /// The `count`-th mail delivered to `address`, as the user would read it.
    func awaitMail(to address: String, count: Int, timeout: TimeInterval) throws -> ReceivedMail
}

extension ServiceInstance {
    static var strongPassword: String { "Val1dPasw0rd!" }

    /// A new connection to this instance's store, whichever the engine, for tests that inspect or
    /// seed rows (SQL with `?` placeholders that both engines speak).
    func database() throws -> any SQLConnection {
        try storeLocation.connect(busyTimeout: 5)
    }

    @discardableResult
    func createUser(_ email: String, password: String = "Val1dPasw0rd!", role: Int = 0, verified: Bool = true,
                    active: Bool = true, firstName: String = "", lastName: String = "") throws -> UserRecord {
        try UserStore(database()).create(
            email: email, passwordHash: PasswordHasher(iterations: TestInstance.passwordIterations).hash(password),
            firstName: firstName, lastName: lastName, role: role, isActive: active, emailVerified: verified)
    }

    /// Logs in and answers the response.
    func login(_ email: String, password: String = "Val1dPasw0rd!", headers: [(String, String)] = []) throws -> HTTPResponse {
        try client.post("\(mount)/login/", json: #"{"email":"\#(email)","password":"\#(password)"}"#, headers: headers)
    }

    func awaitMail(to address: String, count: Int = 1) throws -> ReceivedMail {
        try awaitMail(to: address, count: count, timeout: 20)
    }

    /// Runs `jwt-allauth ARGUMENTS --config <this instance>` as a sysadmin would; answers its exit
    /// status and output (stdout and stderr together). `extraEnvironment` adds to the instance's.
    @discardableResult
    func command(_ arguments: [String], input: String? = nil, extraEnvironment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = TestInstance.binary
        process.arguments = arguments + ["--config", configPath]
        process.environment = environment.merging(extraEnvironment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Waits, at most `timeout`, until `condition` holds; answers whether it did.
    func eventually(timeout: TimeInterval = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }
}
