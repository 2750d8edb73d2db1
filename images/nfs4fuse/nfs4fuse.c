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
 * The source may also be written /net/SERVER/EXPORT (autofs style). (heartbeat's
 * Filesystem agent takes a fuse.* source that is not an existing directory for a missing
 * block device, resource-agents issue #1665; the node image patches the agent, so the
 * lab's haresources and fstab name the share nfsha:/ha as the article does.)
 *
 * NFS semantics kept on purpose:
 *   hard (default)  when the server goes away, calls wait and reconnect for as long
 *                   as it takes, like the kernel's hard mount: readers hang, nothing
 *                   fails, and they carry on when the server is back. Open files are
 *                   opened again by path on the new connection.
 *   soft            calls give up after timeo (tenths of a second, default 100)
 *                   and return EIO.
 *   caching         like the kernel client's attribute cache (acdirmin 30 s) and
 *                   close-to-open consistency: names, attributes and symlinks are
 *                   cached for 30 s, file data is read again at every open.
 * Every request runs with the caller's uid/gid (AUTH_SYS), so the server sees
 * who wrote a file, as with the kernel client.
 *
 * libnfs's synchronous API is not thread safe: FUSE runs single-threaded.
 *
 * Known limits of libnfs 4.0's NFSv4 support, worked around or passed on:
 *   - WRITE above ~3900 bytes fails to encode: writes are split (WRITE_CHUNK);
 *   - CREATE ignores the mode: it is set again after creating;
 *   - chmod, chown and utimes go through an OPEN, which a directory refuses
 *     (NFS4ERR_ISDIR): on directories they are sent as the kernel client sends them,
 *     one COMPOUND of PUTROOTFH, LOOKUPs and a SETATTR with the anonymous stateid.
 */
#define FUSE_USE_VERSION 31

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs4.h>

struct options {
    char *source; /* server:/export */
    int soft;
    unsigned timeo; /* tenths of a second, as nfs(5) */
    int debug;
};

static struct options opts = {.timeo = 100};
static struct nfs_context *nfs;
static char *server, *export_path;
static unsigned generation; /* bumped at every reconnect: older file handles are stale */

/* An open file: the libnfs handle, and what is needed to open it again after a reconnect. */
struct handle {
    struct nfsfh *fh;
    char *path;
    int flags;
    unsigned gen;
};

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
        printf("nfs4fuse 1.1 (libnfs, NFSv4)\n");
        exit(0);
    case KEY_HELP:
        usage(outargs->argv[0]);
        exit(0);
    default:
        return 1;
    }
}

/* The ids of this mount's user namespace against the server's. In a container of a
 * user-namespaced engine (userns-remap) the server runs in the host's user namespace:
 * what it reports as owned by host uid 165536 is root here, and the reverse. Read from
 * /proc/self/uid_map and gid_map ("inside outside count" lines); where there is no map,
 * or an id outside it, the id passes unchanged (a rootful engine maps 0 0 4294967295). */
struct idmap { unsigned long inside, outside, count; };
static struct idmap uid_map[16], gid_map[16];
static int uid_lines, gid_lines;

static int load_map(const char *file, struct idmap *m)
{
    FILE *f = fopen(file, "r");
    int n = 0;
    if (f == NULL)
        return 0;
    while (n < 16 && fscanf(f, "%lu %lu %lu", &m[n].inside, &m[n].outside, &m[n].count) == 3)
        n++;
    fclose(f);
    return n;
}

static unsigned long to_here(const struct idmap *m, int n, unsigned long id)
{
    for (int i = 0; i < n; i++)
        if (id >= m[i].outside && id - m[i].outside < m[i].count)
            return m[i].inside + (id - m[i].outside);
    return id;
}

static unsigned long to_server(const struct idmap *m, int n, unsigned long id)
{
    for (int i = 0; i < n; i++)
        if (id >= m[i].inside && id - m[i].inside < m[i].count)
            return m[i].outside + (id - m[i].inside);
    return id;
}

#define UID_HERE(id) ((uid_t)to_here(uid_map, uid_lines, (id)))
#define GID_HERE(id) ((gid_t)to_here(gid_map, gid_lines, (id)))
#define UID_THERE(id) ((uid_t)to_server(uid_map, uid_lines, (id)))
#define GID_THERE(id) ((gid_t)to_server(gid_map, gid_lines, (id)))

/* Run the next NFS call as the process that asked for it. */
static void as_caller(void)
{
    struct fuse_context *ctx = fuse_get_context();
    if (ctx && nfs) {
        nfs_set_uid(nfs, (int)UID_THERE(ctx->uid));
        nfs_set_gid(nfs, (int)GID_THERE(ctx->gid));
    }
}

static struct nfs_context *connect_server(void)
{
    struct nfs_context *ctx = nfs_init_context();
    if (ctx == NULL)
        return NULL;
    nfs_set_version(ctx, NFS_V4);
    if (opts.soft)
        nfs_set_timeout(ctx, (int)opts.timeo * 100);
    if (nfs_mount(ctx, server, export_path) != 0) {
        syslog(LOG_WARNING, "nfs4fuse: server %s not responding: %s", server, nfs_get_error(ctx));
        nfs_destroy_context(ctx);
        return NULL;
    }
    return ctx;
}

/* The connection broke: make a new one. hard: wait as long as it takes; soft: give up
 * after timeo. Returns 0 when connected again. */
static int reconnect(void)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (nfs) {
        nfs_destroy_context(nfs);
        nfs = NULL;
    }
    for (;;) {
        nfs = connect_server();
        if (nfs) {
            generation++;
            syslog(LOG_NOTICE, "nfs4fuse: server %s OK", server);
            as_caller();
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (opts.soft && (now.tv_sec - start.tv_sec) * 10 >= (long)opts.timeo)
            return -1;
        sleep(1);
    }
}

/* Errors that are answers from a working server, not a broken connection. EPERM is
 * not among them: libnfs also returns -1 when its transport fails. */
static int is_answer(int rc)
{
    switch (-rc) {
    case ENOENT: case EEXIST: case ENOTDIR: case EISDIR: case EACCES: case ENOTEMPTY:
    case EINVAL: case ENAMETOOLONG: case EROFS: case ENOSPC: case EDQUOT: case EXDEV:
    case ELOOP: case EFBIG: case EBADF: case EOPNOTSUPP:
        return 1;
    default:
        return 0;
    }
}

/* Is the server unreachable? Ask it something trivial. */
static int server_gone(void)
{
    struct nfs_stat_64 st;
    return nfs == NULL || nfs_stat64(nfs, "/", &st) < 0;
}

/* Evaluate an NFS call. When it fails with something that is not a plain answer:
 * if the server is gone, reconnect (hard: as long as it takes) and call again; if the
 * server is there, the session's state may be stale (a restarted server forgot our
 * client id: libnfs says ERANGE), so reconnect once and call again. The expression is
 * evaluated anew each time, so file handles are refreshed. */
#define NFS_CALL(expr)                                                                             \
    ({                                                                                             \
        int rc_, fresh_session_ = 0;                                                               \
        as_caller();                                                                               \
        for (;;) {                                                                                 \
            rc_ = nfs ? (expr) : -EIO;                                                             \
            if (rc_ >= 0 || is_answer(rc_))                                                        \
                break;                                                                             \
            if (!server_gone()) {                                                                  \
                if (fresh_session_)                                                                \
                    break;                                                                         \
                fresh_session_ = 1;                                                                \
                /* seen: two writers appending to one file make libnfs 4.0's OPEN fail with     \
                 * NFS4ERR_BAD_SEQID (bench/LOAD.md); a new session mends it */                 \
                syslog(LOG_NOTICE, "nfs4fuse: %s failed (%s): new session", #expr,                 \
                       nfs ? nfs_get_error(nfs) : "no connection");                                \
            }                                                                                      \
            if (reconnect() != 0) {                                                                \
                rc_ = -EIO;                                                                        \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
        rc_ < -4095 ? -EIO : rc_;                                                                  \
    })

/* The libnfs handle of an open file, opened again if the connection was replaced. */
static int fresh(struct handle *h, struct nfsfh **fh)
{
    if (h->gen != generation) {
        int rc = nfs_open(nfs, h->path, h->flags & ~(O_CREAT | O_EXCL | O_TRUNC), &h->fh);
        if (rc < 0)
            return rc;
        h->gen = generation;
    }
    *fh = h->fh;
    return 0;
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
    return (struct handle *)(uintptr_t)fi->fh;
}

static int fh_pread(struct handle *h, char *buf, size_t size, off_t off)
{
    struct nfsfh *fh;
    int rc = fresh(h, &fh);
    return rc < 0 ? rc : nfs_pread(nfs, fh, (uint64_t)off, size, buf);
}

static int fh_pwrite(struct handle *h, const char *buf, size_t size, off_t off)
{
    struct nfsfh *fh;
    int rc = fresh(h, &fh);
    return rc < 0 ? rc : nfs_pwrite(nfs, fh, (uint64_t)off, size, buf);
}

static int fh_fstat(struct handle *h, struct nfs_stat_64 *st)
{
    struct nfsfh *fh;
    int rc = fresh(h, &fh);
    return rc < 0 ? rc : nfs_fstat64(nfs, fh, st);
}

static int fh_fsync(struct handle *h)
{
    struct nfsfh *fh;
    int rc = fresh(h, &fh);
    return rc < 0 ? rc : nfs_fsync(nfs, fh);
}

static int fh_ftruncate(struct handle *h, off_t size)
{
    struct nfsfh *fh;
    int rc = fresh(h, &fh);
    return rc < 0 ? rc : nfs_ftruncate(nfs, fh, (uint64_t)size);
}

static struct handle *new_handle(struct nfsfh *fh, const char *path, int flags)
{
    struct handle *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->fh = fh;
    h->path = strdup(path);
    h->flags = flags;
    h->gen = generation;
    return h;
}

static void to_stat(const struct nfs_stat_64 *n, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_dev = n->nfs_dev;
    st->st_ino = n->nfs_ino;
    st->st_mode = n->nfs_mode;
    st->st_nlink = n->nfs_nlink;
    st->st_uid = UID_HERE(n->nfs_uid);
    st->st_gid = GID_HERE(n->nfs_gid);
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
    /* The kernel NFS client's defaults: attributes and names cached 30 s (acdirmin),
     * symlinks cached, file data read again at every open (close-to-open; no keep_cache). */
    cfg->attr_timeout = 30.0;
    cfg->entry_timeout = 30.0;
    cfg->negative_timeout = 0.0;
    cfg->use_ino = 1;
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
        conn->want |= FUSE_CAP_CACHE_SYMLINKS;
    return NULL;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct nfs_stat_64 n;
    int rc;
    if (fi && fi->fh)
        rc = NFS_CALL(fh_fstat(handle_of(fi), &n));
    else
        rc = NFS_CALL(nfs_lstat64(nfs, path, &n));
    if (rc < 0)
        return rc;
    to_stat(&n, st);
    return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
    int rc;
    memset(buf, 0, size);
    rc = NFS_CALL(nfs_readlink(nfs, path, buf, (int)size - 1));
    return rc < 0 ? rc : 0;
}

static int list_dir(const char *path, void *buf, fuse_fill_dir_t filler)
{
    struct nfsdir *dir;
    struct nfsdirent *ent;
    int rc = nfs_opendir(nfs, path, &dir);
    if (rc < 0)
        return rc;
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

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    return NFS_CALL(list_dir(path, buf, filler));
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
    struct nfsfh *fh;
    struct handle *h;
    int rc = NFS_CALL(nfs_open(nfs, path, fi->flags & ~(O_CREAT | O_EXCL), &fh));
    if (rc < 0)
        return rc;
    if ((h = new_handle(fh, path, fi->flags)) == NULL) {
        nfs_close(nfs, fh);
        return -ENOMEM;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct nfsfh *fh;
    struct handle *h;
    int rc = NFS_CALL(nfs_create(nfs, path, fi->flags, (int)(mode & 07777), &fh));
    if (rc < 0)
        return rc;
    /* libnfs 4.0 creates NFSv4 files mode 0600 whatever it is asked: set the mode */
    nfs_fchmod(nfs, fh, (int)(mode & 07777));
    if ((h = new_handle(fh, path, fi->flags)) == NULL) {
        nfs_close(nfs, fh);
        return -ENOMEM;
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    return NFS_CALL(fh_pread(handle_of(fi), buf, size, off));
}

/* libnfs 4.0 cannot encode an NFSv4 WRITE much above 3900 bytes ("ZDR error: Failed to
 * encode COMPOUND4args"), so writes go out in small pieces. */
#define WRITE_CHUNK 2048

static int op_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    size_t done = 0;
    (void)path;
    while (done < size) {
        size_t n = size - done < WRITE_CHUNK ? size - done : WRITE_CHUNK;
        int rc = NFS_CALL(fh_pwrite(h, buf + done, n, off + (off_t)done));
        if (rc < 0)
            return done ? (int)done : rc;
        if (rc == 0)
            break;
        done += (size_t)rc;
    }
    return (int)done;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    (void)path;
    if (nfs && h->gen == generation)
        nfs_close(nfs, h->fh);
    free(h->path);
    free(h);
    return 0;
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    (void)datasync;
    return NFS_CALL(fh_fsync(handle_of(fi)));
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi && fi->fh)
        return NFS_CALL(fh_ftruncate(handle_of(fi), size));
    return NFS_CALL(nfs_truncate(nfs, path, (uint64_t)size));
}

static int op_mkdir(const char *path, mode_t mode)
{
    return NFS_CALL(nfs_mkdir2(nfs, path, (int)(mode & 07777)));
}

static int op_rmdir(const char *path)
{
    return NFS_CALL(nfs_rmdir(nfs, path));
}

static int op_unlink(const char *path)
{
    return NFS_CALL(nfs_unlink(nfs, path));
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
    if (flags)
        return -EINVAL;
    return NFS_CALL(nfs_rename(nfs, from, to));
}

static int op_symlink(const char *target, const char *linkpath)
{
    return NFS_CALL(nfs_symlink(nfs, target, linkpath));
}

static int op_link(const char *from, const char *to)
{
    return NFS_CALL(nfs_link(nfs, from, to));
}

/* ---- SETATTR on directories ------------------------------------------------------------ */
/* Attribute values, XDR-encoded in attribute-number order (RFC 7530 fattr4). */
struct attrs {
    uint32_t mask[2];
    char vals[128];
    unsigned len;
};

static void put32(struct attrs *a, uint32_t v)
{
    v = htonl(v);
    memcpy(a->vals + a->len, &v, 4);
    a->len += 4;
}

static void put_string(struct attrs *a, const char *s)
{
    unsigned n = (unsigned)strlen(s);
    put32(a, n);
    memset(a->vals + a->len, 0, (n + 3) & ~3u);
    memcpy(a->vals + a->len, s, n);
    a->len += (n + 3) & ~3u;
}

static void put_settime(struct attrs *a, const struct timespec *t)
{
    if (t == NULL || t->tv_nsec == UTIME_NOW) {
        put32(a, SET_TO_SERVER_TIME4);
        return;
    }
    put32(a, SET_TO_CLIENT_TIME4);
    put32(a, (uint32_t)((uint64_t)t->tv_sec >> 32));
    put32(a, (uint32_t)t->tv_sec);
    put32(a, (uint32_t)t->tv_nsec);
}

static void mark(struct attrs *a, int attr)
{
    a->mask[attr / 32] |= 1u << (attr % 32);
}

struct raw_call {
    int done;
    int rpc_status;
    nfsstat4 status;
};

static void raw_done(struct rpc_context *rpc, int status, void *data, void *private_data)
{
    struct raw_call *call = private_data;
    COMPOUND4res *res = data;
    (void)rpc;
    call->done = 1;
    call->rpc_status = status;
    call->status = (status == RPC_STATUS_SUCCESS && res != NULL) ? res->status : NFS4ERR_IO;
}

static int errno_of(nfsstat4 status)
{
    switch (status) {
    case NFS4_OK: return 0;
    case NFS4ERR_PERM: return -EPERM;
    case NFS4ERR_ACCESS: return -EACCES;
    case NFS4ERR_NOENT: return -ENOENT;
    case NFS4ERR_NOTDIR: return -ENOTDIR;
    case NFS4ERR_ROFS: return -EROFS;
    case NFS4ERR_INVAL: case NFS4ERR_BADOWNER: return -EINVAL;
    case NFS4ERR_NAMETOOLONG: return -ENAMETOOLONG;
    default: return -EIO;
    }
}

/* SETATTR on a path, with the anonymous stateid: PUTROOTFH, LOOKUP of every component of
 * the export and the path, SETATTR, in one COMPOUND on libnfs's own connection. */
static int setattr_path(const char *path, struct attrs *a)
{
    char full[PATH_MAX];
    if (snprintf(full, sizeof(full), "%s/%s", export_path, path) >= (int)sizeof(full))
        return -ENAMETOOLONG;
    nfs_argop4 ops[128];
    unsigned n = 0;
    memset(ops, 0, sizeof(ops));
    ops[n++].argop = OP_PUTROOTFH;
    for (char *save = NULL, *c = strtok_r(full, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (n >= 126)
            return -ENAMETOOLONG;
        ops[n].argop = OP_LOOKUP;
        ops[n].nfs_argop4_u.oplookup.objname.utf8string_len = (u_int)strlen(c);
        ops[n++].nfs_argop4_u.oplookup.objname.utf8string_val = c;
    }
    SETATTR4args *set = &ops[n].nfs_argop4_u.opsetattr;
    ops[n++].argop = OP_SETATTR;
    set->obj_attributes.attrmask.bitmap4_len = 2;
    set->obj_attributes.attrmask.bitmap4_val = a->mask;
    set->obj_attributes.attr_vals.attrlist4_len = a->len;
    set->obj_attributes.attr_vals.attrlist4_val = a->vals;

    COMPOUND4args args;
    memset(&args, 0, sizeof(args));
    args.argarray.argarray_len = n;
    args.argarray.argarray_val = ops;
    struct rpc_context *rpc = nfs_get_rpc_context(nfs);
    struct raw_call call = {0};
    if (rpc_nfs4_compound_async(rpc, raw_done, &args, &call) != 0)
        return -EIO;
    while (!call.done) {
        struct pollfd pfd = {.fd = rpc_get_fd(rpc), .events = (short)rpc_which_events(rpc)};
        if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
            return -EIO;
        if (rpc_service(rpc, pfd.revents) < 0)
            return -EIO;
    }
    return call.rpc_status == RPC_STATUS_SUCCESS ? errno_of(call.status) : -EIO;
}

static int is_dir(const char *path)
{
    struct nfs_stat_64 st;
    return nfs_lstat64(nfs, path, &st) == 0 && S_ISDIR(st.nfs_mode);
}

static int dir_chmod(const char *path, mode_t mode)
{
    struct attrs a = {{0}, {0}, 0};
    mark(&a, FATTR4_MODE);
    put32(&a, mode & 07777);
    return setattr_path(path, &a);
}

static int dir_chown(const char *path, uid_t uid, gid_t gid)
{
    struct attrs a = {{0}, {0}, 0};
    char id[24];
    if (uid != (uid_t)-1) {
        mark(&a, FATTR4_OWNER);
        snprintf(id, sizeof(id), "%u", (unsigned)UID_THERE(uid));
        put_string(&a, id);
    }
    if (gid != (gid_t)-1) {
        mark(&a, FATTR4_OWNER_GROUP);
        snprintf(id, sizeof(id), "%u", (unsigned)GID_THERE(gid));
        put_string(&a, id);
    }
    return a.len ? setattr_path(path, &a) : 0;
}

static int dir_utimens(const char *path, const struct timespec tv[2])
{
    struct attrs a = {{0}, {0}, 0};
    if (tv == NULL || tv[0].tv_nsec != UTIME_OMIT) {
        mark(&a, FATTR4_TIME_ACCESS_SET);
        put_settime(&a, tv ? &tv[0] : NULL);
    }
    if (tv == NULL || tv[1].tv_nsec != UTIME_OMIT) {
        mark(&a, FATTR4_TIME_MODIFY_SET);
        put_settime(&a, tv ? &tv[1] : NULL);
    }
    return a.len ? setattr_path(path, &a) : 0;
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)fi;
    return NFS_CALL(is_dir(path) ? dir_chmod(path, mode) : nfs_chmod(nfs, path, (int)(mode & 07777)));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    (void)fi;
    return NFS_CALL(is_dir(path) ? dir_chown(path, uid, gid) : nfs_lchown(nfs, path,
                    uid == (uid_t)-1 ? -1 : (int)UID_THERE(uid), gid == (gid_t)-1 ? -1 : (int)GID_THERE(gid)));
}

static int set_times(const char *path, const struct timespec tv[2])
{
    struct timeval times[2];
    struct timeval now;
    gettimeofday(&now, NULL);
    for (int i = 0; i < 2; i++) {
        if (tv == NULL || tv[i].tv_nsec == UTIME_NOW) {
            times[i] = now;
        } else if (tv[i].tv_nsec == UTIME_OMIT) {
            struct nfs_stat_64 n;
            int rc = nfs_lstat64(nfs, path, &n);
            if (rc < 0)
                return rc;
            times[i].tv_sec = (time_t)(i == 0 ? n.nfs_atime : n.nfs_mtime);
            times[i].tv_usec = (suseconds_t)((i == 0 ? n.nfs_atime_nsec : n.nfs_mtime_nsec) / 1000);
        } else {
            times[i].tv_sec = tv[i].tv_sec;
            times[i].tv_usec = tv[i].tv_nsec / 1000;
        }
    }
    return nfs_utimes(nfs, path, times);
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    (void)fi;
    return NFS_CALL(is_dir(path) ? dir_utimens(path, tv) : set_times(path, tv));
}

static int op_statfs(const char *path, struct statvfs *st)
{
    struct nfs_statvfs_64 n;
    int rc = NFS_CALL(nfs_statvfs64(nfs, path, &n));
    if (rc < 0)
        return rc;
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
    char *colon;
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

    openlog("nfs4fuse", LOG_PID, LOG_DAEMON);
    uid_lines = load_map("/proc/self/uid_map", uid_map);
    gid_lines = load_map("/proc/self/gid_map", gid_map);
    /* The first mount fails at once, as mount(8) would: heartbeat needs to know. */
    nfs = connect_server();
    if (nfs == NULL) {
        fprintf(stderr, "nfs4fuse: mounting %s:%s (NFSv4) failed: server not responding\n", server, export_path);
        return 32; /* mount(8)'s "mount failure" */
    }

    snprintf(fsname, sizeof(fsname), "-ofsname=%s:%s,subtype=nfs4fuse,allow_other,default_permissions", server,
             export_path);
    fuse_opt_add_arg(&args, fsname);
    fuse_opt_add_arg(&args, "-s"); /* libnfs's synchronous API is not thread safe */
    rc = fuse_main(args.argc, args.argv, &ops, NULL);
    if (nfs)
        nfs_destroy_context(nfs);
    fuse_opt_free_args(&args);
    return rc;
}
