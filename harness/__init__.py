"""Test harness for smsdk: the fake 企信通 platform and the conformance suite.

Installed as the package ``smsdk_harness`` (the folder is ``harness/``).
"""
