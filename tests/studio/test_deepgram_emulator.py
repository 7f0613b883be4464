"""The Deepgram emulator speaks the documented wire format, failures included (checked with a plain client)."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.emulators.deepgram import Emulator, Script, silence, word_audio

QUERY = "?model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&endpointing=300"
AUTH = {"Authorization": "Token k"}


@pytest.fixture
async def emulator():
    async with Emulator(Script(api_key="k", idle_timeout=1.0)) as running:
        yield running


async def test_it_refuses_a_bad_key_with_401_dg_error_and_a_request_id(emulator):
    with pytest.raises(InvalidStatus) as refused:
        await connect(emulator.url + QUERY, additional_headers={"Authorization": "Token nope"})
    response = refused.value.response
    assert response.status_code == 401
    assert response.headers["dg-error"] and response.headers["dg-request-id"]
    assert json.loads(response.body)["err_code"] == "INVALID_AUTH"


async def test_it_refuses_with_429_when_told(emulator):
    emulator.script.refuse.append(429)
    with pytest.raises(InvalidStatus) as refused:
        await connect(emulator.url + QUERY, additional_headers=AUTH)
    assert refused.value.response.status_code == 429


async def test_results_finalize_and_close_stream(emulator):
    async with connect(emulator.url + QUERY + "&vad_events=true&utterance_end_ms=1000", additional_headers=AUTH) as ws:
        assert ws.response.headers["dg-request-id"]
        await ws.send(word_audio([3, 4]) + silence(1.2))
        await ws.send(word_audio([5]))
        await ws.send(json.dumps({"type": "Finalize"}))
        await ws.send(json.dumps({"type": "CloseStream"}))
        messages = [json.loads(m) async for m in ws]
        assert ws.close_code == 1000
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "SpeechStarted" and "UtteranceEnd" in kinds and kinds[-1] == "Metadata"
    finals = [
        m for m in messages if m["type"] == "Results" and m["is_final"] and m["channel"]["alternatives"][0]["words"]
    ]
    assert [f["channel"]["alternatives"][0]["transcript"] for f in finals] == ["word3 word4", "word5"]
    assert finals[0]["speech_final"] and finals[1]["from_finalize"]
    assert any(m["type"] == "Results" and not m["is_final"] for m in messages), "interim results"
    assert finals[1]["start"] == pytest.approx(finals[0]["start"] + finals[0]["duration"], abs=0.5)


async def test_it_closes_1011_net_0001_without_input(emulator):
    async with connect(emulator.url + QUERY, additional_headers=AUTH) as ws:
        await ws.send(json.dumps({"type": "KeepAlive"}))  # KeepAlive alone does not hold a silent socket
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1011 and ws.close_reason.startswith("NET-0001")


async def test_it_closes_1008_data_0000_on_undecodable_audio(emulator):
    async with connect(emulator.url + QUERY, additional_headers=AUTH) as ws:
        await ws.send(b"\x01\x02\x03")
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 1008 and ws.close_reason.startswith("DATA-0000")


async def test_it_stalls_when_told(emulator):
    emulator.script.stall = True
    async with connect(emulator.url + QUERY, additional_headers=AUTH) as ws:
        await ws.send(word_audio([1]) + silence(1))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
