/// An nginx version, as `nginx -v` prints it ("nginx version: nginx/1.22.1"), so that `init`
/// writes the directives the installed nginx takes without a deprecation warning.
public struct NginxVersion: Comparable, Sendable {
    public var major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    /// "nginx version: nginx/1.25.3 (Ubuntu)" → 1.25.3; nil when the text names no version.
    public init?(versionLine: String) {
        guard let slash = versionLine.range(of: "nginx/") else { return nil }
        let numbers = versionLine[slash.upperBound...].prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
        guard numbers.count == 3 else { return nil }
        self.init(numbers[0], numbers[1], numbers[2])
    }

    /// `http2 on;` instead of `listen … http2` (deprecated from 1.25.1).
    public var takesHTTP2Directive: Bool { self >= NginxVersion(1, 25, 1) }

    public static func < (a: NginxVersion, b: NginxVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}
