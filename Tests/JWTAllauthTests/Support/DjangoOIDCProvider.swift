import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real OpenID provider: django-oidc-provider from PyPI, in the small Django project beside this
/// file (`django_oidc_provider/`), under Django's `runserver` on a free loopback port. The packages
/// live in a venv kept in the build folder (`PythonVenv`: installed once, again only when the pinned
/// versions change); each provider gets its own SQLite database, RSA key (`creatersakey`), user and
/// confidential client, and is stopped (SIGTERM, then SIGKILL) when released. Every step is bounded.
final class DjangoOIDCProvider {
    /// Pinned, so a test run on a fresh machine meets the provider this test was written against.
    static let requirements = ["django==5.2.19", "django-oidc-provider==0.9.0"]

    let port: Int
    let client: HTTPClient
    let clientID = "jwt-allauth-test"
    let clientSecret = "secret-\(UUID().uuidString.prefix(12))"
    let username = "django-user"
    let password = "pw-\(UUID().uuidString)"
    let email = "django.user@example.com"
    private let directory: URL
    private let python: String
    private var process: Process?

    var issuer: String { "http://127.0.0.1:\(port)/openid" }
    var logPath: String { directory.appendingPathComponent("provider.log").path }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    static var project: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("django_oidc_provider") }

    /// `redirectURI`: the one callback URL its client accepts.
    init(redirectURI: String) throws {
        python = try Self.venvPython()
        port = TestInstance.freePort()
        client = HTTPClient(port: port)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("django-oidc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try manage(["migrate", "--noinput"])
        try manage(["creatersakey"])
        try manage(["seed_test_client", "--username", username, "--password", password, "--email", email, "--client-id", clientID,
                    "--client-secret", clientSecret, "--redirect-uri", redirectURI])
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    // MARK: the browser's part

    /// Signs in through Django's login form (its CSRF cookie and token): the session's cookies.
    func logIn() throws -> [String: String] {
        var cookies: [String: String] = [:]
        let form = try client.get("/accounts/login/")
        remember(form, into: &cookies)
        let token = try Self.hiddenInputs(form.text)["csrfmiddlewaretoken"] ?? { throw Failed(description: "no CSRF token: \(form.text)") }()
        let posted = try post("/accounts/login/", ["csrfmiddlewaretoken": token, "username": username, "password": password], cookies: cookies)
        remember(posted, into: &cookies)
        guard posted.status == 302, cookies["sessionid"] != nil else { throw Failed(description: "login refused: \(posted.status) \(posted.text)") }
        return cookies
    }

    /// The authorization request of the code flow with PKCE as the signed-in user, who grants the
    /// consent django-oidc-provider asks for: the redirect to `redirectURI` carries the code.
    func authorize(cookies: [String: String], redirectURI: String, challenge: String, state: String) throws -> String {
        var cookies = cookies
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "client_id", value: clientID), URLQueryItem(name: "response_type", value: "code"),
                            URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "scope", value: "openid email profile"),
                            URLQueryItem(name: "state", value: state), URLQueryItem(name: "code_challenge", value: challenge),
                            URLQueryItem(name: "code_challenge_method", value: "S256")]
        let consent = try client.get("/openid/authorize?\(query.percentEncodedQuery ?? "")", headers: [("Cookie", Self.cookieHeader(cookies))])
        remember(consent, into: &cookies)
        guard consent.status == 200 else { throw Failed(description: "authorize: \(consent.status) \(consent.header("Location") ?? consent.text)") }
        var fields = try Self.hiddenInputs(consent.text)
        fields["allow"] = "Authorize"
        let granted = try post("/openid/authorize", fields, cookies: cookies)
        guard granted.status == 302, let location = granted.header("Location"), location.hasPrefix(redirectURI + "?"),
              let items = URLComponents(string: location)?.queryItems
        else { throw Failed(description: "consent: \(granted.status) \(granted.header("Location") ?? granted.text)") }
        guard items.first(where: { $0.name == "state" })?.value == state, let code = items.first(where: { $0.name == "code" })?.value else {
            throw Failed(description: "no code in \(location)")
        }
        return code
    }

    private func post(_ path: String, _ fields: [String: String], cookies: [String: String]) throws -> HTTPResponse {
        var form = URLComponents()
        form.queryItems = fields.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        // A form body encodes "+" too, which a query string leaves alone.
        let body = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return try client.request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", Self.cookieHeader(cookies))],
                                  body: Array(body.utf8))
    }

    private func remember(_ response: HTTPResponse, into cookies: inout [String: String]) {
        for name in ["csrftoken", "sessionid"] {
            if let value = response.cookie(name) { cookies[name] = value }
        }
    }

    private static func cookieHeader(_ cookies: [String: String]) -> String {
        cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    }

    /// `name` → `value` of every `<input type="hidden">` (HTML entities decoded).
    static func hiddenInputs(_ html: String) throws -> [String: String] {
        let input = try NSRegularExpression(pattern: #"<input\b[^>]*>"#, options: [.caseInsensitive])
        let attribute = try NSRegularExpression(pattern: #"(\w+)="([^"]*)""#)
        var fields: [String: String] = [:]
        for match in input.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            let tag = String(html[Range(match.range, in: html)!])
            var attributes: [String: String] = [:]
            for pair in attribute.matches(in: tag, range: NSRange(tag.startIndex..., in: tag)) {
                attributes[String(tag[Range(pair.range(at: 1), in: tag)!]).lowercased()] = String(tag[Range(pair.range(at: 2), in: tag)!])
            }
            if attributes["type"]?.lowercased() == "hidden", let name = attributes["name"] {
                fields[name] = decodeEntities(attributes["value"] ?? "")
            }
        }
        return fields
    }

    private static func decodeEntities(_ text: String) -> String {
        [("&quot;", "\""), ("&#x27;", "'"), ("&#39;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")]
            .reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    // MARK: processes

    private var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PROVIDER_DATABASE"] = directory.appendingPathComponent("provider.sqlite3").path
        // Nothing written into the source tree, and the access log line by line.
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONUNBUFFERED"] = "1"
        return environment
    }

    private func manage(_ arguments: [String], timeout: TimeInterval = 120) throws {
        try PythonVenv.run(python, [Self.project.appendingPathComponent("manage.py").path] + arguments, environment: environment,
                     logPath: logPath, timeout: timeout)
    }

    /// `runserver` without the autoreloader (one process to stop); ready when discovery answers (at most 30 s).
    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.project.appendingPathComponent("manage.py").path, "runserver", "--noreload", "127.0.0.1:\(port)"]
        process.environment = environment
        let log = try PythonVenv.appending(logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        self.process = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? client.get("/openid/.well-known/openid-configuration"))?.status == 200 { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        stop()
        throw Failed(description: "runserver did not answer:\n\(self.log)")
    }

    func stop() {
        PythonHelper.stop(process)
        process = nil
    }

    /// The venv's python with `requirements` (`PythonVenv`).
    static func venvPython() throws -> String {
        try PythonVenv.python("django-oidc-provider", requirements: requirements)
    }
}
