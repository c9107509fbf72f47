"""The concurrency run's readings of Asterisk's CLI (outputs as Asterisk 22 prints them)."""
# ruff: noqa: E501  (the CLI's own wide lines)

from callcenter.simulate.versus import bridged_calls, received_audio

BRIDGES = """\
Bridge-ID                            Name                                 Chans Type            Technology      Duration
4421c719-428f-454f-bb58-224f8f74d3e4 <unknown>                                2 basic           simple_bridge   00:00:42
4872cef3-0b18-4e30-bdf2-57c4e6cb2ace <unknown>                                1 basic           simple_bridge   00:00:42
5ed34960-76a2-4638-b055-249df8662508 <unknown>                                2 basic           simple_bridge   00:00:41
"""

STATS = """\
                                             ...........Receive......... .........Transmit..........
 BridgeId ChannelId ........ UpTime.. Codec.   Count    Lost Pct  Jitter   Count    Lost Pct  Jitter RTT....
 ===========================================================================================================

 4421c719 3600-0000000d      00:00:42 alaw     1400       0    0   0.000   1400       0    0   0.361   0.000
 4421c719 carrier-0000000c   00:00:42 alaw     1408     326K 23189   0.000   1410       0    0   0.385   0.000
 4872cef3 3500-0000000b      00:00:42 alaw     1.2K      12    0   0.000   1404       0    0   0.279   0.000
"""


def test_only_bridges_of_two_channels_are_calls_put_through():
    assert bridged_calls(BRIDGES) == 2
    empty = "Bridge-ID Name Chans Type Technology Duration\n\nNo objects found.\n"
    assert bridged_calls(empty) == 0


def test_each_channels_received_and_lost_packets_with_asterisks_k():
    assert received_audio(STATS) == {"3600-0000000d": (1400, 0),
                                     "carrier-0000000c": (1408, 326_000),
                                     "3500-0000000b": (1200, 12)}
