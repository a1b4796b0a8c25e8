import Foundation
@testable import AllauthRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium (Debian's `chromium` + `chromium-driver`) driven over the W3C WebDriver
/// protocol, for the tests of the built-in pages: a real browser runs their script, keeps their
/// cookies and follows their redirects.
///
/// Why a small client of our own rather than Debian's python3-selenium: WebDriver is a handful
/// of JSON-over-HTTP calls to chromedriver on loopback, which the tests' own `HTTPClient`
/// already speaks (FoundationNetworking's URLSession failed here with curl's "Failed writing
/// header"); that keeps one test runner (`swift test`), one language, and no Python in CI.
final class Browser {
    let driver: Process
    let driverPort: Int
    let client: HTTPClient
    let profile: URL
    private(set) var session = ""

    enum BrowserError: Error, CustomStringConvertible {
        case driverNotReady(String)
        case webDriver(command: String, status: Int, message: String)
        case timeout(String)
        var description: String {
            switch self {
            case .driverNotReady(let log): "chromedriver did not start: \(log)"
            case .webDriver(let command, let status, let message): "WebDriver \(command) → \(status): \(message)"
            case .timeout(let what): "timed out waiting for \(what)"
            }
        }
    }

    /// Where screenshots go: `test-artifacts/screenshots/` in the checkout (gitignored).
    static var screenshotDirectory: URL {
        let root = (try? ShareDirectory.locate()) ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return root.appendingPathComponent("test-artifacts/screenshots")
    }

    /// Starts chromedriver on a free loopback port and opens a browser with a fixed viewport.
    /// `mobile`: emulate a phone of that CSS width (desktop windows cannot be made that narrow).
    /// `language`: the browser's `Accept-Language` (`ru-RU,ru`), as a user of that language has it.
    init(width: Int = 1200, height: Int = 900, mobileWidth: Int? = nil, language: String? = nil) throws {
        driverPort = TestInstance.freePort()
        client = HTTPClient(port: driverPort)
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: profile, withIntermediateDirectories: true)
        driver = Process()
        driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
        driver.arguments = ["--port=\(driverPort)", "--log-path=\(profile.appendingPathComponent("chromedriver.log").path)"]
        driver.standardOutput = FileHandle.nullDevice
        driver.standardError = FileHandle.nullDevice
        try driver.run()
        try waitForDriver()

        var options: [String: Any] = [
            "binary": "/usr/bin/chromium",
            // We run as root in CI: Chromium's sandbox needs a user namespace it does not get there.
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--no-first-run", "--disable-extensions", "--force-device-scale-factor=1",
                     "--window-size=\(width),\(height)", "--user-data-dir=\(profile.appendingPathComponent("profile").path)"],
        ]
        if let language {
            options["prefs"] = ["intl.accept_languages": language]
        }
        if let mobileWidth {
            options["mobileEmulation"] = ["deviceMetrics": ["width": mobileWidth, "height": 640, "pixelRatio": 2]]
        }
        let created = try command("POST", "/session", ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": options]]])
        guard let id = (created as? [String: Any])?["sessionId"] as? String else {
            throw BrowserError.webDriver(command: "new session", status: 0, message: "no session id")
        }
        session = id
        _ = try command("POST", "/session/\(id)/timeouts", ["pageLoad": 30_000, "script": 10_000, "implicit": 0])
    }

    deinit { quit() }

    func quit() {
        if !session.isEmpty {
            _ = try? command("DELETE", "/session/\(session)", nil)
            session = ""
        }
        if driver.isRunning {
            // SIGKILL, not terminate(): chromedriver inherits the test runner's signal mask, in
            // which SIGTERM is blocked. The browser itself was closed by the session's DELETE.
            kill(driver.processIdentifier, SIGKILL)
            driver.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: profile)
    }

    private func waitForDriver() throws {
        let deadline = Date().addingTimeInterval(20)
        var lastError = ""
        while Date() < deadline {
            do {
                if let status = try command("GET", "/status", nil) as? [String: Any], status["ready"] as? Bool == true { return }
            } catch {
                lastError = "\(error)"
            }
            guard driver.isRunning else { break }
            usleep(100_000)
        }
        let log = (try? String(contentsOf: profile.appendingPathComponent("chromedriver.log"), encoding: .utf8)) ?? ""
        throw BrowserError.driverNotReady("\(lastError)\n\(log.suffix(2000))")
    }

    // MARK: WebDriver commands

    /// One WebDriver call: JSON in, the answer's `value` out; a WebDriver error throws.
    @discardableResult
    private func command(_ method: String, _ path: String, _ body: [String: Any]?) throws -> Any? {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        let response = try client.request(method, path, headers: body == nil ? [] : [("Content-Type", "application/json; charset=utf-8")],
                                          body: bytes, timeout: 60)
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])) as? [String: Any]
        let value = json?["value"]
        guard response.status == 200 else {
            let message = ((value as? [String: Any])?["message"] as? String) ?? response.text
            throw BrowserError.webDriver(command: "\(method) \(path)", status: response.status, message: String(message.prefix(500)))
        }
        return value
    }

    private var base: String { "/session/\(session)" }

    func open(_ url: String) throws {
        try command("POST", "\(base)/url", ["url": url])
    }

    var currentURL: String { (try? command("GET", "\(base)/url", nil) as? String) ?? "" }

    /// Runs `script` in the page and answers its return value.
    @discardableResult
    func execute(_ script: String, _ arguments: [Any] = []) throws -> Any? {
        try command("POST", "\(base)/execute/sync", ["script": script, "args": arguments])
    }

    private func element(_ css: String) throws -> String {
        let found = try command("POST", "\(base)/element", ["using": "css selector", "value": css]) as? [String: Any]
        guard let id = found?.values.first as? String else { throw BrowserError.webDriver(command: "find \(css)", status: 0, message: "no element id") }
        return id
    }

    /// WebDriver's code for the Enter key, to end a `type` with.
    static let enterKey = "\u{E007}"

    /// Types into a field the way a user would (key events, so the page sees real input).
    func type(_ css: String, _ text: String) throws {
        let id = try element(css)
        try command("POST", "\(base)/element/\(id)/clear", [:])
        try command("POST", "\(base)/element/\(id)/value", ["text": text])
    }

    func click(_ css: String) throws {
        try command("POST", "\(base)/element/\(try element(css))/click", [:])
    }

    /// The rendered (visible) text of the first element matching `css`; "" when there is none.
    func text(_ css: String) -> String {
        guard let id = try? element(css) else { return "" }
        return (try? command("GET", "\(base)/element/\(id)/text", nil) as? String) ?? ""
    }

    func exists(_ css: String) -> Bool { (try? element(css)) != nil }

    func isDisplayed(_ css: String) -> Bool {
        guard let id = try? element(css) else { return false }
        return (try? command("GET", "\(base)/element/\(id)/displayed", nil) as? Bool) ?? false
    }

    func attribute(_ css: String, _ name: String) -> String? {
        guard let id = try? element(css) else { return nil }
        return try? command("GET", "\(base)/element/\(id)/attribute/\(name)", nil) as? String
    }

    /// The browser's cookies for the current page, by name.
    func cookies() throws -> [String: String] {
        let list = try command("GET", "\(base)/cookie", nil) as? [[String: Any]] ?? []
        return Dictionary(list.compactMap { cookie in
            (cookie["name"] as? String).map { ($0, cookie["value"] as? String ?? "") }
        }, uniquingKeysWith: { first, _ in first })
    }

    /// Sets a cookie on the current page's site (open a page of the site first).
    func addCookie(_ name: String, _ value: String, path: String = "/") throws {
        try command("POST", "\(base)/cookie", ["cookie": ["name": name, "value": value, "path": path]])
    }

    /// Polls `condition` every 100 ms for at most `timeout` seconds.
    func wait(for what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        throw BrowserError.timeout(what)
    }

    /// Saves the viewport as `test-artifacts/screenshots/<name>.png` and answers the file.
    @discardableResult
    func screenshot(_ name: String) throws -> URL {
        guard let base64 = try command("GET", "\(base)/screenshot", nil) as? String, let png = Data(base64Encoded: base64) else {
            throw BrowserError.webDriver(command: "screenshot", status: 0, message: "no image")
        }
        try FileManager.default.createDirectory(at: Self.screenshotDirectory, withIntermediateDirectories: true)
        let file = Self.screenshotDirectory.appendingPathComponent("\(name).png")
        try png.write(to: file)
        return file
    }
}
