/// The release this binary is: `jwt-allauth --version`, `health/`'s detail for the metrics
/// allow-list, and the Debian package's version (the Makefile reads it from this line).
package enum Version {
    package static let release = "0.2.0"
}
