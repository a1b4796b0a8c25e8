import Foundation

/// Where the files shipped beside the binary live: nginx/, config/ and Templates/.
/// Installed: `<prefix>/share/jwt-allauth`; in a checkout: the repository root.
public enum ShareDirectory {
    public static let environmentVariable = "JWT_ALLAUTH_SHARE_DIR"

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String {
            "cannot find jwt-allauth's nginx/ and config/ templates; set \(ShareDirectory.environmentVariable)"
        }
    }

    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        if let explicit = environment[environmentVariable] { return URL(fileURLWithPath: explicit) }
        let executable = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        var directory = executable.deletingLastPathComponent()
        let installed = directory.deletingLastPathComponent().appendingPathComponent("share/jwt-allauth")
        if isShareDirectory(installed) { return installed }
        // A build inside a checkout (.build/debug/jwt-allauth): walk up to the repository.
        for _ in 0..<6 {
            if isShareDirectory(directory) { return directory }
            directory = directory.deletingLastPathComponent()
        }
        throw NotFound()
    }

    static func isShareDirectory(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("nginx/site.conf.template").path)
            && FileManager.default.fileExists(atPath: url.appendingPathComponent("config/config.yaml.template").path)
    }
}

/// `{{name}}` substitution for the nginx, systemd and config templates. A placeholder without a
/// value is an error, so a template and its filler cannot drift apart silently.
public enum TemplateText {
    public struct MissingValue: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "template placeholder {{\(name)}} has no value" }
    }

    public static func render(_ template: String, _ values: [String: String]) throws -> String {
        var output = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
            guard let value = values[name] else { throw MissingValue(name: name) }
            output += value
            rest = rest[close.upperBound...]
        }
        return output + rest
    }
}
