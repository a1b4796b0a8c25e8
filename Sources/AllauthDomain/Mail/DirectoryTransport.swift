import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `mail.transport: directory`: each message becomes one `.eml` file, the local mail catcher of
/// `make run`. The file is named after the Message-ID, so a re-send replaces rather than doubles
/// it, and written to a temporary name first and renamed, so a reader never sees half a mail.
public struct DirectoryTransport: MailTransport {
    let directory: URL

    public init(directory: String) throws {
        self.directory = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    public func deliver(_ mail: EncodedMail) throws(MailDeliveryError) {
        // The Message-ID is `<hex@domain>`: keep what is safe in a file name.
        let name = String(mail.messageID.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
            .map(Character.init))
        let target = directory.appendingPathComponent("\(name).eml").path
        let temporary = directory.appendingPathComponent(".\(name).tmp").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .transient("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        var failure: Int32 = 0
        while offset < mail.bytes.count {
            let written = mail.bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = errno
                break
            }
            offset += written
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && rename(temporary, target) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw .transient("cannot write \(target): \(String(cString: strerror(failure)))")
        }
    }
}
