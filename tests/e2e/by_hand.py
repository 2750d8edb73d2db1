"""What a trainee types for each of the article's steps: the article's commands, for the
lab's own names and addresses, never the lab's reference solution. The workshop walk types
them step by step; the class engine's tests type them in a trainee's lab there."""

from __future__ import annotations

from lab.engine.handle import LabHandle
from lab.model.config import NODES


def ha_cf_by_hand(lab: LabHandle) -> str:
    """The article's Listing 6 as a trainee types it for the lab: its own node names, the
    lab's timers, ucast over the LAN beside the serial cable, the ping node for ipfail."""
    t, cfg = lab.cfg.times, lab.cfg
    return "\n".join([
        "debugfile /var/log/ha-debug", "logfile\t/var/log/ha-log", "logfacility\tlocal0",
        f"keepalive {int(t.keepalive * 1000)}ms", f"deadtime {int(t.deadtime * 1000)}ms",
        f"warntime {int(t.warntime * 1000)}ms", f"initdead {int(t.initdead * 1000)}ms",
        "baud\t19200", "serial\t/dev/ttyS0",
        *(f"ucast eth0 {cfg.lan_ip(n)}" for n in NODES),
        "auto_failback on", "node\tha1", "node\tha2", "crm no", f"ping {cfg.lan_ip('ha3')}",
        "apiauth ipfail gid=haclient uid=hacluster", "respawn hacluster /usr/libexec/heartbeat/ipfail", ""])


def trainee(lab: LabHandle, step: str) -> list[tuple[str, str]]:
    """What the trainee types for a step: (host, shell commands), in order."""
    cfg = lab.cfg
    edit = f"s/ha\\.haw2\\.ibm\\.com/{cfg.cluster}/"
    pages = {n: (f"cp /ha/hahbcode/www/hostname.html /var/www/htmllocal\n"
                 f"sed -i 's/ha1\\.haw2\\.ibm\\.com/{n}/; {edit}' /var/www/htmllocal/hostname.html\n") for n in NODES}
    haresources = (f"{cfg.master} IPaddr2::{cfg.vip}/{cfg.prefixlen}/eth0 "
                   f"Filesystem::nfsha:/ha::/ha::{cfg.share_fstype}::rw,hard apache2")
    return {
        "serial-cable": [],  # the article's cat and echo, both ways: heartbeat.serial_test types them
        "nfs-export": [("nfsha", f"mkdir -p /ha\necho '/ha {cfg.lan}(rw,sync,no_root_squash)' >> /etc/exports\n"
                                 "exportfs -ra")],
        "fstab": [(n, f"echo 'nfsha:/ha /ha {cfg.share_fstype} noauto,rw,hard 0 0' >> /etc/fstab") for n in NODES],
        "sample-pages": [("ha1", "mount /ha\ncp ~/hahbcode.tar.gz /ha\ncd /ha\ntar xvfz hahbcode.tar.gz\ncd /\n"
                                 "umount /ha")],
        "apache-layout": [
            ("ha1", "mount /ha\nmkdir -p /ha/www/html\nchmod 775 /ha/www\nchmod 775 /ha/www/html\n"
                    "mv /var/www/html /var/www/htmllocal\nln -s /ha/www/html /var/www/html\n"
                    f"cp /ha/hahbcode/www/index.html /var/www/html\nsed -i '{edit}' /var/www/html/index.html\n"
                    + pages["ha1"] + "ln -s /var/www/htmllocal/hostname.html /ha/www/html/hostname.html\n"
                    "cd /\numount /ha"),
            ("ha2", "mount /ha\nmv /var/www/html /var/www/htmllocal\nln -s /ha/www/html /var/www/html\n"
                    + pages["ha2"] + "cd /\numount /ha"),
        ],
        "authkeys": [(n, "printf 'auth 1\\n1 sha1 workshop-secret-42\\n' > /etc/ha.d/authkeys\n"
                         "chmod 600 /etc/ha.d/authkeys") for n in NODES],
        "ha-cf": [(n, f"cat > /etc/ha.d/ha.cf <<'EOF'\n{ha_cf_by_hand(lab)}EOF") for n in NODES],
        "haresources": [(n, f"echo '{haresources}' > /etc/ha.d/haresources") for n in NODES],
        "start-cluster": [(cfg.master, "/etc/rc.d/init.d/heartbeat start"),
                          (cfg.backup, "/etc/rc.d/init.d/heartbeat start")],
        "browser-test": [("ha3", f"curl -sf http://{cfg.cluster}/index.html http://{cfg.cluster}/hostname.html")],
        "failover-test": [(cfg.master, "/etc/rc.d/init.d/heartbeat stop")],  # then, below: ha2 serves; start
    }[step]
