/*
 * libqos: a q35 with intel-iommu and ioasid-vfio, set up for relay tests
 *
 * Copyright (c) 2026 The qemu-ioasid authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "ioasid-env.h"

void qie_start(QIoasidEnv *e, const char *mem, const char *viommu,
               const char *extra, const char *devopts, bool scalable,
               bool qi)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -m %s -nodefaults %s -device intel-iommu,caching-mode=on%s%s"
        " -device ioasid-vfio,id=dev0,addr=%02x.0%s%s", mem ?: "512M",
        extra ?: "", scalable ? ",x-scalable-mode=on" : "", viommu ?: "",
        QIE_SLOT, devopts ? "," : "", devopts ?: "");

    e->scalable = scalable;
    e->fs = false;
    e->d = qiov_start(args, QIE_SLOT);
    qvtd_init(&e->v, e->d->qts, QIE_TABLES, QIE_TABLES_SIZE, scalable);
    if (qi) {
        qvtd_enable_qi(&e->v);
    }
    e->top = qvtd_sl_new(&e->v);
    if (scalable) {
        e->pe = qvtd_context_scalable(&e->v, QIE_SID, QIE_DID, e->top, false);
    } else {
        qvtd_context_legacy(&e->v, QIE_SID, QIE_DID, e->top);
    }
    qvtd_inv_context_global(&e->v);
    qvtd_inv_iotlb_global(&e->v);
}

void qie_start_fs(QIoasidEnv *e, const char *mem, const char *viommu,
                  const char *devopts)
{
    g_autofree char *opts = g_strdup_printf(",x-flts=on%s", viommu ?: "");

    qie_start(e, mem, opts, NULL, devopts, true, true);
    e->fs = true;
    e->top = qvtd_fs_new(&e->v);
    qvtd_pasid_entry_set(&e->v, e->pe, QVTD_PE_PGTT_FS, e->top, QIE_DID,
                         false);
    qvtd_inv_pasid_cache(&e->v, 0, true);
    qvtd_inv_iotlb_global(&e->v);
}

const char *qie_translation(QIoasidEnv *e, char *buf, size_t len)
{
    QDict *s = qie_space(e);

    g_strlcpy(buf, qdict_haskey(s, "translation") ?
              qdict_get_str(s, "translation") : "", len);
    qobject_unref(s);
    return buf;
}

void qie_stop(QIoasidEnv *e)
{
    qiov_stop(e->d);
}

QDict *qie_space(QIoasidEnv *e)
{
    QDict *s = qiov_query_space(e->d->qts, "ioasid-default", QIE_PATH);

    g_assert(s);
    return s;
}

uint64_t qie_space_u64(QIoasidEnv *e, const char *key)
{
    QDict *s = qie_space(e);
    uint64_t n = qdict_get_u64(s, key);

    qobject_unref(s);
    return n;
}

void qie_assert_mapping(QIoasidEnv *e, uint64_t iova, uint64_t size,
                        uint64_t addr, bool block)
{
    QDict *s = qie_space(e);
    QDict *m = qiov_find_mapping(s, iova);

    g_assert(m);
    g_assert_cmphex(qdict_get_u64(m, "iova"), ==, iova);
    g_assert_cmphex(qdict_get_u64(m, "size"), ==, size);
    g_assert_cmphex(qdict_get_u64(m, "addr"), ==, addr);
    g_assert_cmpint(qdict_get_bool(m, "block-nosnoop"), ==, block);
    qobject_unref(s);
}

void qie_assert_unmapped(QIoasidEnv *e, uint64_t iova)
{
    QDict *s = qie_space(e);

    g_assert_null(qiov_find_mapping(s, iova));
    qobject_unref(s);
}

uint64_t qie_nosnoop_bytes(QIoasidEnv *e)
{
    return qiov_rd64(e->d, IOASID_VFIO_REG_NOSNOOP_BYTES);
}

void qie_inv_page(QIoasidEnv *e, uint64_t iova)
{
    if (e->scalable) {
        qvtd_inv_piotlb_page(&e->v, QIE_DID, 0, iova, 0);
    } else {
        qvtd_inv_iotlb_page(&e->v, QIE_DID, iova, 0);
    }
}

void qie_map_live(QIoasidEnv *e, int pages, uint64_t flags)
{
    qvtd_sl_map(&e->v, e->top, QIE_IOVA, QIE_GPA, pages * QIE_PG,
                QVTD_PAGE_4K, flags);
    qvtd_set_translation(&e->v, true);
    qie_assert_mapping(e, QIE_IOVA, pages * QIE_PG, QIE_GPA,
                       flags & QVTD_SL_SNP);
}
