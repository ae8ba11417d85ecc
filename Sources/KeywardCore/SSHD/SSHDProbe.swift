/// The shell script that reads a host's sshd model in one round trip, and the parser of its
/// output: `sshd -T -C` per user (when root), the accounts (`getent passwd`), their groups
/// (`id -Gn`), the connection's addresses (`$SSH_CONNECTION`) and the caller's uid.
///
/// `sshd -T` runs once per host when no config file has a `Match` line and the only `Include`
/// is Debian's `/etc/ssh/sshd_config.d/*.conf` (the answer is then the same for every user);
/// otherwise once per user.
public enum SSHDProbe {
  /// Where to read sshd's log of logins: a file (`%H` is the host's `hostname`), else the
  /// journal (`ssh`/`sshd` units, the last `days` days), else /var/log/auth.log (and `.1`).
  public struct LogSpec: Hashable, Sendable {
    public var days: Int
    public var path: String?

    public init(days: Int = 90, path: String? = nil) {
      self.days = days
      self.path = path
    }
  }

  /// What the script printed.
  public struct Output: Hashable, Sendable {
    public var uid: UInt32?
    public var client: String
    public var server: String
    public var port: Int
    /// `sshd -T` output per user, when it exited 0.
    public var settings: [String: SSHDSettings]
    /// Users whose `sshd -T` failed, with its message.
    public var failures: [String: String]
    public var accounts: [String: SSHDModel.Account]
    /// The log's source line (`@@logsource`), when the log was asked for.
    public var logSource: String?
    /// `user` -> fingerprints seen logging in.
    public var logins: [String: Set<String>] = [:]
    /// sshd_config files the script printed (not as root: the model is then evaluated from
    /// them), by path; files it could not read are not here.
    public var configFiles: [String: String] = [:]
    /// Directories of those files the script listed, by path.
    public var listings: [String: [String]] = [:]
  }

  /// The script for `users` (validated names only); `allAccounts` lists every account and models
  /// the login accounts too. Users must be safe shell words (``isSafeName(_:)``).
  public static func script(users: [String], allAccounts: Bool, log: LogSpec? = nil) -> String {
    let names = users.filter(isSafeName).joined(separator: " ")
    // Few processes: the host pays for every one, on every plan. The users come out of the
    // passwd text with shell built-ins; one `groups` answers for all of them (coreutils prints
    // `user : group...` per user), with `id -Gn` per user where `groups` takes one user only.
    let pick =
      allAccounts
      ? """
      users=$(printf '%s\\n' "$pw" | awk -F: '!seen[$1]++ && ($1=="root" || ($3>=1000 && $3<65534 && $7 !~ /(nologin|false)$/)) {print $1}')
      """
      : """
      users=""; for u in \(names); do case "
      $pw" in *"
      $u:"*) users="$users $u" ;; esac; done
      """
    return """
      PATH=/usr/sbin:/usr/bin:/sbin:/bin; export LC_ALL=C
      set -- ${SSH_CONNECTION:-127.0.0.1 0 127.0.0.1 22}
      uid=$(id -u); echo "@@conn $1 $3 $4"; echo "@@uid $uid"
      pw=$(getent passwd \(allAccounts ? "" : names)); echo "@@passwd"; printf '%s\\n' "$pw"
      \(pick)
      if [ -n "$users" ]; then
        g=$(groups $users 2>/dev/null)
        case "$g" in
          *" : "*) echo "@@grouplist"; printf '%s\\n' "$g" ;;
          *) for u in $users; do echo "@@groups $u $(id -Gn -- "$u" 2>/dev/null)"; done ;;
        esac
      fi
      if [ "$uid" = 0 ] && command -v sshd >/dev/null 2>&1; then
        cf=/etc/ssh/sshd_config
        for f in /etc/ssh/sshd_config.d/*.conf; do [ -e "$f" ] && cf="$cf $f"; done
        per_user=0
        grep -qiE '^[[:space:]]*match[[:space:]=]' $cf 2>/dev/null && per_user=1
        [ $per_user = 0 ] && grep -iE '^[[:space:]]*include[[:space:]=]' $cf 2>/dev/null |
          grep -qviE '^[[:space:]]*include[[:space:]]+/etc/ssh/sshd_config\\.d/\\*\\.conf[[:space:]]*$' && per_user=1
        shared=""
        for u in $users; do
          echo "@@sshd $u"
          if [ $per_user = 1 ] || [ -z "$shared" ]; then
            out=$(sshd -T -C "user=$u,host=$1,addr=$1,laddr=$3,lport=$4" 2>&1); st=$?; shared=1
          fi
          printf '%s\n' "$out"; echo "@@status $st"
        done
      else
        for f in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf; do
          [ -f "$f" ] && [ -r "$f" ] || continue
          echo "@@file $f"; while IFS= read -r l || [ -n "$l" ]; do printf '|%s\n' "$l"; done < "$f"
        done
        d=/etc/ssh/sshd_config.d
        if [ -d $d ] && [ -r $d ] && [ -x $d ]; then
          echo "@@listing $d"; for f in $d/* $d/.*; do [ -e "$f" ] && printf '|%s\n' "${f##*/}"; done
        fi
        true
      fi

      """ + (log.map(logScript) ?? "")
  }

  /// The part of the script that prints the log's login lines, then `@@logsource`.
  static func logScript(_ log: LogSpec) -> String {
    let filter = "grep -h 'Accepted publickey for' "
    if let path = log.path {
      let quoted = "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
      return """

        echo "@@log"; f=$(printf '%s' \(quoted) | sed "s/%H/$(hostname)/g")
        if [ -r "$f" ]; then \(filter)"$f" | tail -n 200000; echo "@@logsource $f"
        else echo "@@logsource unreadable: $f"; fi

        """
    }
    return """

      echo "@@log"
      if command -v journalctl >/dev/null 2>&1 && [ -n "$(journalctl -q -n 1 -u ssh -u sshd 2>/dev/null)" ]; then
        journalctl -q --no-pager -o cat -u ssh -u sshd --since "-\(max(1, log.days)) days" 2>/dev/null |
          grep 'Accepted publickey for' | tail -n 200000
        echo "@@logsource journal (\(max(1, log.days)) days)"
      elif [ -r /var/log/auth.log ]; then
        \(filter)/var/log/auth.log /var/log/auth.log.1 2>/dev/null | tail -n 200000; echo "@@logsource /var/log/auth.log"
      else echo "@@logsource unreadable: no journal for ssh and no readable /var/log/auth.log"; fi

      """
  }

  static let accountsMarker = "keyward-accounts-follow"

  /// The probe `script`, then an account lookup in the same round trip (its output after a
  /// marker line; `split` takes them apart).
  public static func foldingIn(_ accounts: AccountLookup.Command, after script: String) -> String {
    "{\n" + script + "\n}; echo; echo \(accountsMarker); " + accounts.text
  }

  /// What a `foldingIn` script printed: the probe's part and the account lookup's; nil when the
  /// marker is missing (the script stopped early).
  public static func split(_ output: String) -> (probe: String, accounts: String)? {
    guard let range = output.range(of: "\n\(accountsMarker)\n", options: .backwards) else { return nil }
    return (String(output[..<range.lowerBound]), String(output[range.upperBound...]))
  }

  /// Names that need no quoting in a shell and cannot be options.
  public static func isSafeName(_ name: String) -> Bool {
    guard let first = name.first, first != "-", name.count <= 64 else { return false }
    return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
  }

  /// Parses the script's output.
  public static func parse(_ text: String) -> Output {
    var output = Output(
      uid: nil, client: "127.0.0.1", server: "127.0.0.1", port: 22, settings: [:], failures: [:],
      accounts: [:])
    var section = ""
    var current: String?
    var buffer: [Substring] = []
    var groups: [String: [String]] = [:]
    var fileLines: [Substring] = []
    var listed: [String] = []
    // A printed file or listing ends where the next section starts.
    func endSection() {
      guard let path = current else { return }
      if section == "file" { output.configFiles[path] = fileLines.joined(separator: "\n") + "\n" }
      if section == "listing" { output.listings[path] = listed.filter { $0 != "." && $0 != ".." } }
      current = nil
    }
    for raw in SSHDConfig.lines(text) {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      if section == "file" || section == "listing", line.hasPrefix("|") {
        if section == "file" {
          fileLines.append(line.dropFirst())
        } else {
          listed.append(String(line.dropFirst()))
        }
        continue
      }
      if line.hasPrefix("@@") {
        if section == "file" || section == "listing" {
          endSection()
          section = ""
        }
        let words = line.split(separator: " ").map(String.init)
        switch words[0] {
        case "@@conn" where words.count >= 4:
          output.client = words[1]
          output.server = words[2]
          output.port = Int(words[3]) ?? 22
        case "@@uid" where words.count >= 2: output.uid = UInt32(words[1])
        case "@@passwd": section = "passwd"
        case "@@log": section = "log"
        case "@@logsource":
          section = ""
          output.logSource = String(line.dropFirst("@@logsource ".count))
        case "@@groups" where words.count >= 2:
          section = ""
          groups[words[1]] = Array(words.dropFirst(2))
        case "@@grouplist": section = "grouplist"
        case "@@file" where words.count >= 2, "@@listing" where words.count >= 2:
          section = words[0] == "@@file" ? "file" : "listing"
          current = String(line.dropFirst(words[0].count + 1))
          fileLines = []
          listed = []
        case "@@sshd" where words.count >= 2:
          section = "sshd"
          current = words[1]
          buffer = []
        case "@@status" where words.count >= 2:
          if let user = current {
            let body = buffer.joined(separator: "\n")
            if words[1] == "0" {
              output.settings[user] = SSHDSettings(sshdTestOutput: body)
            } else {
              output.failures[user] =
                body.split(separator: "\n").last.map(String.init) ?? "status \(words[1])"
            }
          }
          section = ""
          current = nil
        default: break
        }
        continue
      }
      switch section {
      case "passwd":
        guard let entry = PasswdEntry(line: line), output.accounts[entry.name] == nil else { continue }
        output.accounts[entry.name] = SSHDModel.Account(entry)
      case "sshd": buffer.append(line)
      case "grouplist":
        // `groups USER...`: `alice : alice ops`.
        let words = line.split(separator: " ").map(String.init)
        guard words.count >= 2, words[1] == ":" else { continue }
        groups[words[0]] = Array(words.dropFirst(2))
      case "log":
        guard let start = line.range(of: "Accepted publickey for ") else { continue }
        let rest = line[start.upperBound...]
        guard let user = rest.split(separator: " ").first,
          let fingerprint = rest.split(separator: " ").first(where: { $0.hasPrefix("SHA256:") })
        else { continue }
        output.logins[String(user), default: []].insert(String(fingerprint))
      default: break
      }
    }
    if section == "file" || section == "listing" { endSection() }
    for (name, list) in groups { output.accounts[name]?.groups = list }
    return output
  }

  /// The model from a probe: exact when `sshd -T` answered for every user, otherwise evaluated
  /// from `config` (read by the caller) and marked approximate.
  public static func model(
    host: String, output: Output, users: [String], allAccounts: Bool, config: () -> SSHDConfig?
  ) -> SSHDModel {
    var model = settingsModel(
      host: host, output: output, users: users, allAccounts: allAccounts, config: config)
    if let source = output.logSource {
      model.logins = SSHDModel.Logins(source: source, seen: output.logins.mapValues { $0.sorted() })
    }
    return model
  }

  static func settingsModel(
    host: String, output: Output, users: [String], allAccounts: Bool, config: () -> SSHDConfig?
  ) -> SSHDModel {
    var wanted = users.filter { output.accounts[$0] != nil }
    if allAccounts {
      wanted = Array(Set(wanted + output.accounts.values.filter(\.isLoginAccount).map(\.name))).sorted()
    }
    var accounts = output.accounts
    if !allAccounts { accounts = accounts.filter { users.contains($0.key) } }
    if !wanted.isEmpty && wanted.allSatisfy({ output.settings[$0] != nil }) {
      return SSHDModel(
        host: host, source: .sshdTest, users: output.settings.filter { wanted.contains($0.key) },
        accounts: accounts)
    }
    var notes: [String] = []
    if output.uid != 0 {
      notes.append("not root on the host: sshd_config was read and evaluated by keyward (approximate)")
    } else if let failure = output.failures.values.first {
      notes.append(
        "'sshd -T' failed (\(failure)): sshd_config was read and evaluated by keyward (approximate)")
    } else if !wanted.isEmpty {
      notes.append("no sshd found in PATH: sshd_config was read and evaluated by keyward (approximate)")
    }
    var settings: [String: SSHDSettings] = [:]
    if let config = config() {
      notes += config.problems
      for user in wanted {
        let connection = SSHDConnection(
          user: user, groups: output.accounts[user]?.groups ?? [], host: output.client,
          address: output.client,
          localAddress: output.server, localPort: output.port)
        settings[user] = SSHDConfigEvaluator.evaluate(config, connection: connection)
      }
    } else {
      // Guessing would be worse than knowing nothing: with no settings, plans manage the
      // manifest's path as written and report says the host's settings are unknown.
      notes.append("sshd_config could not be read: sshd's settings are unknown")
    }
    return SSHDModel(host: host, source: .config, users: settings, accounts: accounts, notes: notes)
  }
}
