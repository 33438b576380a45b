"""Exact causality in a real run's log: every receipt names its send (sender, send_seq),
arrows never go back in time, and per-link loss is one metrics table."""

from __future__ import annotations

import pytest

from paxos_edu import trace
from paxos_edu.cluster import Cluster


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_every_receipt_of_a_real_run_pairs_with_exactly_one_send(tmp_path):
    # batch 1: one instance per value, so ~1 400 link sends and the loss figure below is a
    # measurement; with default batching there were ~60 and 1 of 52 lost happened in CI.
    with Cluster(seed=61, log_dir=tmp_path / "run", trace="messages", loss=0.1,
                 timeout=0.05, batch=1) as c:
        for client in (1, 2):
            c.submit(client, [f"c{client}-{i}" for i in range(30)])
        c.wait(timeout=30)
    run = c.run
    m = run.messages
    assert {"sender", "send_seq"} <= set(m.columns)
    sends = m[m["direction"] == "sent"]
    assert (sends["sender"] == sends["process"]).all()
    assert sends["send_seq"].notna().all()
    assert not sends.duplicated(["process", "send_seq"]).any()  # one number, one datagram
    receipts = m[m["direction"] != "sent"]
    assert len(receipts) > 0 and receipts["sender"].notna().all()  # no decode errors here
    assert (receipts["direction"] == "dropped").any()  # the injected loss
    named = sends[["process", "send_seq", "time", "kind"]].rename(
        columns={"process": "sender", "time": "time_sent", "kind": "kind_sent"})
    paired = receipts.merge(named, on=["sender", "send_seq"], how="left")
    assert len(paired) == len(receipts)
    assert paired["time_sent"].notna().all(), paired[paired["time_sent"].isna()].head()
    got = paired[paired["direction"] == "received"]
    assert (got["kind"] == got["kind_sent"]).all()
    assert (got["time"] >= got["time_sent"]).all()  # the send is stamped before it goes out
    frame = trace.message_frame(run)
    delivered = frame[frame["event"] == "delivered"]
    assert delivered["msg_id"].notna().all() and delivered["exact"].all()
    links = run.metrics().links
    assert {"sender", "receiver", "sent", "received", "dropped", "lost", "loss"} <= set(links)
    link = links[(links["sender"] == "proposer1") & (links["receiver"] == "acceptor1")].iloc[0]
    assert link["sent"] > 0 and link["received"] + link["dropped"] <= link["sent"]
    assert (links["received"] <= links["sent"]).all()
    total = links[links["sender"] != links["receiver"]]
    sent, lost = int(total["sent"].sum()), int(total["sent"].sum() - total["received"].sum())
    assert sent >= 500, sent  # enough datagrams for the figure to mean something
    # Loss 0.1 per receipt: lost ~ Binomial(sent, 0.1); 6 standard deviations either side
    # fail by chance less than once in 10^8 runs, and still catch a loss of 0 or of 0.2.
    sd = (sent * 0.1 * 0.9) ** 0.5
    assert abs(lost - 0.1 * sent) < 6 * sd, (lost, sent)
