/*
 * nfs4fuse: a small userspace NFSv4 client (FUSE 3 over libnfs) for kernels without NFS.
 *
 * The lab's nodes must mount nfsha:/ha the way the article's fstab does
 * (nfs, rw,hard) but this kernel has no NFS client. nfs4fuse is installed as
 * a mount helper, so heartbeat's Filesystem agent mounts it with
 *
 *     mount -t fuse.nfs4fuse -o rw,hard nfsha:/ha /ha
 *
 * and mount.fuse3 runs `nfs4fuse nfsha:/ha /ha -o rw,hard,...`.
 *
 * The source may also be written /net/SERVER/EXPORT (autofs style). heartbeat's
 * Filesystem agent treats any fuse.* source that is not an existing directory as a
 * missing block device and refuses to start (resource-agents issue #1665), so the
 * lab's haresources names the share as /net/nfsha/ha, a directory in the image.
 *
 * NFS semantics kept on purpose:
 *   hard (default)  an unreachable server makes calls wait and retry forever,
 *                   like the kernel's hard mount: readers hang, nothing fails.
 *   soft            calls give up after timeo (tenths of a second, default 100)
 *                   and return EIO.
 * Every request runs with the caller's uid/gid (AUTH_SYS), so the server sees
 * who wrote a file, as with the kernel client.
 *
 * libnfs's synchronous API is not thread safe: FUSE runs single-threaded.
 *
 * Known limits of libnfs 4.0's NFSv4 support, worked around or passed on:
 *   - WRITE above ~3900 bytes fails to encode: writes are split (WRITE_CHUNK);
 *   - CREATE ignores the mode: it is set again after creating;
 *   - chmod, chown and utimes on a directory fail (libnfs OPENs the path first,
 *     and the server answers NFS4ERR_ISDIR): the error is returned as is.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs4.h>

struct options {
    char *source; /* server:/export */
    int soft;
    unsigned timeo; /* tenths of a second, as nfs(5) */
    int debug;
};

static struct options opts = {.timeo = 100};
static struct nfs_context *nfs;

enum { KEY_HARD, KEY_SOFT, KEY_DROP, KEY_VERSION, KEY_HELP };

#define OPT(t, p) {t, offsetof(struct options, p), 1}
static const struct fuse_opt option_spec[] = {
    OPT("timeo=%u", timeo),
    FUSE_OPT_KEY("hard", KEY_HARD),
    FUSE_OPT_KEY("soft", KEY_SOFT),
    /* nfs(5) options that have no meaning here but appear in fstab lines */
    FUSE_OPT_KEY("nfsvers=%s", KEY_DROP),
    FUSE_OPT_KEY("vers=%s", KEY_DROP),
    FUSE_OPT_KEY("proto=%s", KEY_DROP),
    FUSE_OPT_KEY("retrans=%s", KEY_DROP),
    FUSE_OPT_KEY("intr", KEY_DROP),
    FUSE_OPT_KEY("nolock", KEY_DROP),
    FUSE_OPT_KEY("_netdev", KEY_DROP),
    FUSE_OPT_KEY("noauto", KEY_DROP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_END};

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s SERVER:/EXPORT|/net/SERVER/EXPORT MOUNTPOINT [-o hard|soft,timeo=N,...]\n"
            "   or: mount -t fuse.nfs4fuse -o rw,hard SERVER:/EXPORT MOUNTPOINT\n",
            prog);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    (void)data;
    (void)outargs;
    switch (key) {
    case FUSE_OPT_KEY_NONOPT:
        if (opts.source == NULL) {
            opts.source = strdup(arg);
            return 0;
        }
        return 1;
    case KEY_HARD:
        opts.soft = 0;
        return 0;
    case KEY_SOFT:
        opts.soft = 1;
        return 0;
    case KEY_DROP:
        return 0;
    case KEY_VERSION:
        printf("nfs4fuse 1.0 (libnfs, NFSv4)\n");
        exit(0);
    case KEY_HELP:
        usage(outargs->argv[0]);
        exit(0);
    default:
        return 1;
    }
}

/* Run the next NFS call as the process that asked for it. */
static void as_caller(void)
{
    struct fuse_context *ctx = fuse_get_context();
    if (ctx) {
        nfs_set_uid(nfs, (int)ctx->uid);
        nfs_set_gid(nfs, (int)ctx->gid);
    }
}

static int err(int rc)
{
    /* libnfs's sync calls return -errno; anything else unexpected is an I/O error */
    if (rc >= 0)
        return rc;
    return rc < -4095 ? -EIO : rc;
}

static void to_stat(const struct nfs_stat_64 *n, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = n->nfs_dev;
    st->st_ino = n->nfs_ino;
    st->st_mode = n->nfs_mode;
    st->st_nlink = n->nfs_nlink;
    st->st_uid = n->nfs_uid;
    st->st_gid = n->nfs_gid;
    st->st_rdev = n->nfs_rdev;
    st->st_size = n->nfs_size;
    st->st_blksize = n->nfs_blksize;
    st->st_blocks = n->nfs_blocks;
    st->st_atim.tv_sec = n->nfs_atime;
    st->st_atim.tv_nsec = n->nfs_atime_nsec;
    st->st_mtim.tv_sec = n->nfs_mtime;
    st->st_mtim.tv_nsec = n->nfs_mtime_nsec;
    st->st_ctim.tv_sec = n->nfs_ctime;
    st->st_ctim.tv_nsec = n->nfs_ctime_nsec;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    /* Short attribute caching: after a failover the other node must see fresh data. */
    cfg->attr_timeout = 1.0;
    cfg->entry_timeout = 1.0;
    cfg->negative_timeout = 0.0;
    cfg->use_ino = 1;
    return NULL;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct nfs_stat_64 n;
    int rc;
    as_caller();
    if (fi && fi->fh)
        rc = nfs_fstat64(nfs, (struct nfsfh *)(uintptr_t)fi->fh, &n);
    else
        rc = nfs_lstat64(nfs, path, &n);
    if (rc < 0)
        return err(rc);
    to_stat(&n, st);
    return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
    int rc;
    as_caller();
    memset(buf, 0, size);
    rc = nfs_readlink(nfs, path, buf, (int)size - 1);
    return rc < 0 ? err(rc) : 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    struct nfsdir *dir;
    struct nfsdirent *ent;
    int rc;
    (void)off;
    (void)fi;
    (void)flags;
    as_caller();
    rc = nfs_opendir(nfs, path, &dir);
    if (rc < 0)
        return err(rc);
    /* NFSv4 READDIR never returns . and .. */
    filler(buf, ".", NULL, 0, 0);
    filler(buf, "..", NULL, 0, 0);
    while ((ent = nfs_readdir(nfs, dir)) != NULL) {
        if (strcmp(ent->name, ".") == 0 || strcmp(ent->name, "..") == 0)
            continue;
        if (filler(buf, ent->name, NULL, 0, 0))
            break;
    }
    nfs_closedir(nfs, dir);
    return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct nfsfh *fh;
    int rc;
    as_caller();
    rc = nfs_open(nfs, path, fi->flags & ~(O_CREAT | O_EXCL), &fh);
    if (rc < 0)
        return err(rc);
    fi->fh = (uint64_t)(uintptr_t)fh;
    return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct nfsfh *fh;
    int rc;
    as_caller();
    rc = nfs_create(nfs, path, fi->flags, (int)(mode & 07777), &fh);
    if (rc < 0)
        return err(rc);
    /* libnfs 4.0 creates NFSv4 files mode 0600 whatever it is asked: set the mode */
    nfs_fchmod(nfs, fh, (int)(mode & 07777));
    fi->fh = (uint64_t)(uintptr_t)fh;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    as_caller();
    return err(nfs_pread(nfs, (struct nfsfh *)(uintptr_t)fi->fh, (uint64_t)off, size, buf));
}

/* libnfs 4.0 cannot encode an NFSv4 WRITE much above 3900 bytes ("ZDR error: Failed to
 * encode COMPOUND4args"), so writes go out in small pieces. */
#define WRITE_CHUNK 2048

static int op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct nfsfh *fh = (struct nfsfh *)(uintptr_t)fi->fh;
    size_t done = 0;
    (void)path;
    as_caller();
    while (done < size) {
        size_t n = size - done < WRITE_CHUNK ? size - done : WRITE_CHUNK;
        int rc = nfs_pwrite(nfs, fh, (uint64_t)off + done, n, buf + done);
        if (rc < 0)
            return done ? (int)done : err(rc);
        if (rc == 0)
            break;
        done += (size_t)rc;
    }
    return (int)done;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    nfs_close(nfs, (struct nfsfh *)(uintptr_t)fi->fh);
    return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    as_caller();
    return err(nfs_fsync(nfs, (struct nfsfh *)(uintptr_t)fi->fh));
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    as_caller();
    if (fi && fi->fh)
        return err(nfs_ftruncate(nfs, (struct nfsfh *)(uintptr_t)fi->fh, (uint64_t)size));
    return err(nfs_truncate(nfs, path, (uint64_t)size));
}

static int op_mkdir(const char *path, mode_t mode)
{
    as_caller();
    return err(nfs_mkdir2(nfs, path, (int)(mode & 07777)));
}

static int op_rmdir(const char *path)
{
    as_caller();
    return err(nfs_rmdir(nfs, path));
}

static int op_unlink(const char *path)
{
    as_caller();
    return err(nfs_unlink(nfs, path));
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    if (flags)
        return -EINVAL;
    as_caller();
    return err(nfs_rename(nfs, from, to));
}

static int op_symlink(const char *target, const char *linkpath)
{
    as_caller();
    return err(nfs_symlink(nfs, target, linkpath));
}

static int op_link(const char *from, const char *to)
{
    as_caller();
    return err(nfs_link(nfs, from, to));
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    as_caller();
    return err(nfs_chmod(nfs, path, (int)(mode & 07777)));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)fi;
    as_caller();
    return err(nfs_lchown(nfs, path, (int)uid, (int)gid));
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct timeval times[2];
    struct timeval now;
    (void)fi;
    gettimeofday(&now, NULL);
    for (int i = 0; i < 2; i++) {
        if (tv == NULL || tv[i].tv_nsec == UTIME_NOW) {
            times[i] = now;
        } else if (tv[i].tv_nsec == UTIME_OMIT) {
            struct nfs_stat_64 n;
            int rc = nfs_lstat64(nfs, path, &n);
            if (rc < 0)
                return err(rc);
            times[i].tv_sec = (time_t)(i == 0 ? n.nfs_atime : n.nfs_mtime);
            times[i].tv_usec = (suseconds_t)((i == 0 ? n.nfs_atime_nsec : n.nfs_mtime_nsec) / 1000);
        } else {
            times[i].tv_sec = tv[i].tv_sec;
            times[i].tv_usec = tv[i].tv_nsec / 1000;
        }
    }
    as_caller();
    return err(nfs_utimes(nfs, path, times));
}

static int op_statfs(const char *path, struct statvfs *st)
{
    struct nfs_statvfs_64 n;
    int rc;
    as_caller();
    rc = nfs_statvfs64(nfs, path, &n);
    if (rc < 0)
        return err(rc);
    memset(st, 0, sizeof(*st));
    st->f_bsize = n.f_bsize;
    st->f_frsize = n.f_frsize;
    st->f_blocks = n.f_blocks;
    st->f_bfree = n.f_bfree;
    st->f_bavail = n.f_bavail;
    st->f_files = n.f_files;
    st->f_ffree = n.f_ffree;
    st->f_favail = n.f_favail;
    st->f_namemax = n.f_namemax;
    return 0;
}

static const struct fuse_operations ops = {
    .init = op_init,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .readdir = op_readdir,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write = op_write,
    .release = op_release,
    .fsync = op_fsync,
    .truncate = op_truncate,
    .mkdir = op_mkdir,
    .rmdir = op_rmdir,
    .unlink = op_unlink,
    .rename = op_rename,
    .symlink = op_symlink,
    .link = op_link,
    .chmod = op_chmod,
    .chown = op_chown,
    .utimens = op_utimens,
    .statfs = op_statfs,
};

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    char *server, *export_path, *colon;
    char fsname[512];
    int rc;

    if (fuse_opt_parse(&args, &opts, option_spec, opt_proc) == -1)
        return 2;
    if (opts.source != NULL && strncmp(opts.source, "/net/", 5) == 0 && strchr(opts.source + 5, '/') != NULL) {
        /* /net/SERVER/EXPORT: rewrite as SERVER:/EXPORT */
        char *rest = opts.source + 5;
        char *slash = strchr(rest, '/');
        size_t hostlen = (size_t)(slash - rest);
        char *spec = malloc(strlen(rest) + 2);
        if (spec == NULL)
            return 1;
        memcpy(spec, rest, hostlen);
        spec[hostlen] = ':';
        strcpy(spec + hostlen + 1, slash);
        opts.source = spec;
    }
    if (opts.source == NULL || (colon = strchr(opts.source, ':')) == NULL || colon[1] != '/') {
        fprintf(stderr, "nfs4fuse: expected SERVER:/EXPORT or /net/SERVER/EXPORT as the source, got %s\n",
                opts.source ? opts.source : "nothing");
        usage(argv[0]);
        return 2;
    }
    *colon = '\0';
    server = opts.source;
    export_path = colon + 1;

    nfs = nfs_init_context();
    if (nfs == NULL) {
        fprintf(stderr, "nfs4fuse: cannot create an NFS context\n");
        return 1;
    }
    nfs_set_version(nfs, NFS_V4);
    if (opts.soft) {
        nfs_set_timeout(nfs, (int)opts.timeo * 100);
        nfs_set_autoreconnect(nfs, 3);
    } else {
        /* hard: wait and reconnect for as long as it takes */
        nfs_set_autoreconnect(nfs, -1);
    }
    rc = nfs_mount(nfs, server, export_path);
    if (rc != 0) {
        fprintf(stderr, "nfs4fuse: mounting %s:%s (NFSv4) failed: %s\n", server, export_path, nfs_get_error(nfs));
        return 32; /* mount(8)'s "mount failure" */
    }

    snprintf(fsname, sizeof(fsname), "-ofsname=%s:%s,subtype=nfs4fuse,allow_other,default_permissions", server,
             export_path);
    fuse_opt_add_arg(&args, fsname);
    fuse_opt_add_arg(&args, "-s");
    rc = fuse_main(args.argc, args.argv, &ops, NULL);
    nfs_destroy_context(nfs);
    fuse_opt_free_args(&args);
    return rc;
}
