import smsdk

def test_compiled_flag_is_bool():
    assert isinstance(smsdk.COMPILED, bool)
