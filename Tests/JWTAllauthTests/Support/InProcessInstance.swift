import FastCGI
import Foundation
import Logging
import Testing
@testable import AllauthRuntime
@testable import AllauthStore
@testable import AllauthDomain
@testable import AllauthHTTP

/// The service in this process, for the flow suites: a request value in, a response value out.
/// The instance directory is what `jwt-allauth dev` makes (`Deployment`: config.yaml, keys, a
/// real SQLite file, log/ and mail/), read with the same `JWT_ALLAUTH_…` overrides as
/// `TestInstance`, and the service is built as a worker builds it (keys, templates, common
/// passwords, security log, metrics, MFA key). No nginx, no pool, no mail process: `client`
/// hands the service what nginx would (`InProcessClient`), and the outbox is delivered on demand
/// by the mail process's own `Mailer` into `.eml` files (`InProcessMailbox`).
///
/// Each instance has its own directory and connection, so suites on it run in parallel.
final class InProcessInstance: ServiceInstance {
    let directory: URL
    /// Named by the public URL (`http://127.0.0.1:PORT`) and so by every link; nothing listens on it.
    let port: Int
    let environment: [String: String]
    let config: Config
    let service: Service
    let client: InProcessClient
    let mailbox: InProcessMailbox
    let engine: TestEngine
    /// On PostgreSQL: this instance's database on the shared test cluster, dropped with it.
    let postgres: PostgresDatabase?
    var mount: String { config.server.mount }
    var configPath: String { directory.appendingPathComponent("config.yaml").path }

    /// The service's and the mailer's log lines (what `dev.log` holds for a real instance).
    let serviceLog = InProcessLog()

    /// `environment`: `JWT_ALLAUTH_…` overrides, as a suite passes them to `TestInstance`.
    /// `engine`: by default the one the test run asks for (`TestEngine.current`).
    /// `port`: the one the public URL names, when the configuration must know it beforehand.
    init(algorithm: String = "ES256", environment overrides: [String: String] = [:], engine: TestEngine = .current,
         port chosenPort: Int = 8080) throws {
        self.engine = engine
        postgres = engine == .postgresql ? try PostgresCluster.shared().createDatabase() : nil
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-allauth-inprocess-\(UUID().uuidString.prefix(8))")
        port = chosenPort
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("JWT_ALLAUTH_") }
        environment["JWT_ALLAUTH_ACCOUNTS_PASSWORD_ITERATIONS"] = String(TestInstance.passwordIterations)
        if let postgres { environment["JWT_ALLAUTH_DATABASE_URL"] = postgres.url }
        environment.merge(overrides) { $1 }
        self.environment = environment

        // What `dev` does for a new directory, then what `serve` and its worker do at start.
        let share = try ShareDirectory.locate()
        var options = Deployment.Options(directory: directory, domain: "localhost")
        options.algorithm = try #require(TokenAlgorithm(rawValue: algorithm))
        options.developmentPort = port
        options.environment = environment
        _ = try Deployment(options: options, share: share).write()
        for sub in ["log", "mail", "run"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let config = try Config.load(path: directory.appendingPathComponent("config.yaml").path, environment: environment)
        self.config = config
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        let logger = serviceLog.logger(label: "jwt-allauth.worker", level: level)
        let migration = try config.database.connect()
        try Migrator.migrate(migration)
        let metrics = MetricsDirectory(socket: config.server.socket)
        try metrics.reset()
        service = Service(config: config, keys: try KeySet.load(config.tokens), templates: try TemplateLibrary(config.templates), logger: logger,
                          commonPasswords: try PasswordPolicy.commonPasswords(in: share),
                          securityLog: try SecurityLog.open(path: config.securityEventsPath),
                          metrics: (metrics, "worker-0"), mfaKey: try MFAKey.load(config.mfa))
        client = InProcessClient(service: service, connection: try service.makeThreadState(), port: port)
        mailbox = try InProcessMailbox(config: config, db: try config.database.connect(),
                                       logger: serviceLog.logger(label: "jwt-allauth.mailer", level: level))
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    var storeLocation: StoreLocation { config.database.location }

    /// The mail the service queued so far, delivered as the mail process would; then the
    /// `count`-th to `address`. Delivery is synchronous here, so there is nothing to wait for.
    func awaitMail(to address: String, count: Int, timeout: TimeInterval) throws -> ReceivedMail {
        try mailbox.deliverQueued()
        let received = try mailbox.messages(to: address)
        guard received.count >= count else { throw MailError.notReceived(address, count) }
        return received[count - 1]
    }

    /// The service's log so far, as `TestInstance.log` reads `dev.log`.
    var log: String { serviceLog.text }

    /// The security log the service writes (one line per event), as an operator's fail2ban reads it.
    var securityLog: String {
        config.securityEventsPath.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
    }
}

extension InProcessInstance {
    static func withMail(_ environment: [String: String] = [:]) throws -> InProcessInstance {
        try InProcessInstance(environment: environment)
    }

    static func mfa(_ mode: String, mail: Bool = false, _ environment: [String: String] = [:]) throws -> InProcessInstance {
        try InProcessInstance(environment: environment.merging(["JWT_ALLAUTH_MFA_MODE": mode]) { $1 })
    }
}

extension InProcessInstance {
    /// `POST path` with a JSON body from client address `source`, as nginx passes it (`REMOTE_ADDR`).
    func post(_ path: String, json: String, from source: String) throws -> HTTPResponse {
        try client.from(source).post(path, json: json)
    }

    func login(_ email: String, password: String = "Val1dPasw0rd!", from source: String) throws -> HTTPResponse {
        try post("\(mount)/login/", json: #"{"email":"\#(email)","password":"\#(password)"}"#, from: source)
    }
}
