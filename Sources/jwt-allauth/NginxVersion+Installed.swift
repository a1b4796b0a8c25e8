import AllauthDomain
import Foundation

extension NginxVersion {
    /// nil when no nginx is installed here (init may run on another host than nginx).
    static func installed() -> NginxVersion? {
        guard let binary = installedNginx() else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-v"]
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        guard (try? process.run()) != nil else { return nil }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return NginxVersion(versionLine: text)
    }
}

/// The nginx binary of this host (Debian's, a local build's), or nil when there is none.
func installedNginx() -> String? {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
}
