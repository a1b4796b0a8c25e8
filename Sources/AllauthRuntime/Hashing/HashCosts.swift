/// What one unit of the other algorithms' work costs next to one round of PBKDF2-SHA256, for
/// `DjangoPasswordHash.cost`: the failure cost a stored hash of theirs asks of every failed login
/// (`StoredRoundsCeiling`). An estimate too low would let a wrong password on such an account answer
/// more slowly than an unknown address; too high only makes failures dearer, so these are on the
/// high side: about 1.3 times what was measured on an x86-64 server with SHA extensions (AMD EPYC,
/// a release build), where PBKDF2-SHA256 is at its fastest next to the others. There, 1,000,000
/// rounds took 0.23 s; Django's default argon2 (m=102400, t=2, one thread) 0.20 s; bcrypt at
/// work factor 12 0.22 s; scrypt N=2^14, r=8, p=5 0.19 s (N=2^17, r=8, p=1: 0.39 s).
enum HashCosts {
    /// libargon2, per KiB of memory and pass (m·t): 3.4 to 4.2 measured, from 19 MiB to 256 MiB.
    static let pbkdf2RoundsPerArgon2KiBPass = 5.5
    /// libxcrypt's bcrypt, per round (2^work factor): 223 to 235 measured.
    static let pbkdf2RoundsPerBCryptRound = 300.0
    /// BoringSSL's scrypt, per N·r·p: 1.3 (16 MiB) to 1.65 (128 MiB) measured.
    static let pbkdf2RoundsPerScryptUnit = 2.2
}
