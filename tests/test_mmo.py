"""Rules of the mmo world, each pinned on a small scene built through get_state/set_state.

Per-entity state fields address the entity chosen by a cursor (``select``, ``npc_select``,
``tile_x``/``tile_y``); a call that moves a cursor only moves it, so the helpers select first and
write second. Scenes sit around (16, 16) of a 32 x 32 map, away from the spawn ring.
"""
import numpy as np
import pytest

import sailfish

C = 7            # channels per window cell
GRASS, FOREST, WATER, STONE, SPAWN = 1, 2, 3, 4, 5
PASSIVE, NEUTRAL, HOSTILE = 0, 1, 2
POTION = 4
STAY, N, E, S, W = 0, 1, 2, 3, 4
MELEE, RANGED = 1, 2
STATS = ["alive", "health", "food", "water", "combat_level", "forage_level", "weapon", "facing",
         "inv0", "inv1", "inv2", "x", "y"]


# Small worlds keep rule tests fast; the defaults are the 128 x 128 map with 128 agents.
SMALL = {"map_size": 32, "agents": 4, "npcs": 8, "window": 5}


def make_small(**config):
    return sailfish.make("mmo", **{**SMALL, **config})


def world(**config):
    config = {"map_size": 32, "agents": 4, "npcs": 0, "window": 5, **config}
    env = make_small(num_envs=1, seed=0, log_interval=0, **config)
    env.reset()
    for x in range(12, 21):  # a clear field of grass for the scene
        for y in range(12, 21):
            tile(env, x, y, tile_terrain=GRASS, tile_food=0, tile_item=0)
    return env


def agent(env, i, **fields):
    env.set_state(0, select=i)
    if fields:
        env.set_state(0, **fields)
    return env.get_state(0)


def npc(env, j, **fields):
    env.set_state(0, npc_select=j)
    if fields:
        env.set_state(0, **fields)
    return env.get_state(0)


def tile(env, x, y, **fields):
    env.set_state(0, tile_x=x, tile_y=y)
    if fields:
        env.set_state(0, **fields)
    return env.get_state(0)


def step(env, **rows):
    """One tick; ``rows`` maps 'a0', 'a1', ... to (move, attack, use); other agents stay."""
    actions = np.zeros((env.num_envs, 3), np.int32)
    for key, action in rows.items():
        actions[int(key[1:])] = action
    return env.step(actions)


def window_cell(env, row, dx, dy):
    w = int(np.sqrt((env.single_observation_space.shape[0] - len(STATS)) // C))
    r = w // 2
    i = ((dy + r) * w + (dx + r)) * C
    return env.observations[row, i:i + C]


def stats(env, row):
    return dict(zip(STATS, env.observations[row, -len(STATS):].tolist()))


# ---------------------------------------------------------------- the map
def test_same_seed_gives_the_same_map_and_another_seed_another():
    def frame(seed):
        env = make_small(num_envs=1, seed=seed)
        env.reset()
        return env.render(0)
    assert np.array_equal(frame(3), frame(3))
    assert not np.array_equal(frame(3), frame(4))


def test_map_has_every_terrain_and_a_spawn_ring_on_its_edge():
    env = make_small(num_envs=1, seed=1, map_size=32)
    env.reset()
    counts = np.zeros(6, int)
    for x in range(32):
        for y in range(32):
            t = int(tile(env, x, y)["tile_terrain"])
            counts[t] += 1
            on_edge = x in (0, 31) or y in (0, 31)
            assert (t == SPAWN) == on_edge
            if not on_edge and (x in (1, 30) or y in (1, 30)):
                assert t in (GRASS, FOREST)  # nobody spawns walled in
    inner = 30 * 30
    assert counts[SPAWN] == 4 * 31
    for t, share in [(WATER, 0.15), (STONE, 0.10), (FOREST, 0.30)]:
        assert 0.3 * share * inner < counts[t] < 1.5 * share * inner, (t, counts)


def test_agents_start_on_spawn_tiles_with_fresh_stats():
    env = make_small(num_envs=1, seed=2, agents=16)
    env.reset()
    for i in range(16):
        s = agent(env, i)
        assert s["x"] in (0, 31) or s["y"] in (0, 31)
        assert (s["health"], s["food"], s["water"], s["combat_level"], s["forage_level"]) == (100, 100, 100, 1, 1)
    assert env.masks.all()


# ---------------------------------------------------------------- survival
def test_foraging_eats_forest_food_which_regrows_after_the_delay():
    env = world(food_regrow=5)
    agent(env, 0, x=16, y=16, food=50)
    tile(env, 17, 16, tile_terrain=FOREST, tile_food=1)
    _, rewards, *_ = step(env, a0=(E, 0, 0))  # tick 1: eaten, regrows at tick 6
    s = agent(env, 0)
    assert (s["x"], s["food"], s["food_gathered"]) == (17, 50 + 20 - 1, 20)
    assert rewards[0] == pytest.approx(0.1 + 0.01)
    step(env, a0=(W, 0, 0))
    for _ in range(3):  # ticks 3..5
        assert tile(env, 17, 16)["tile_food"] == 0
        step(env)
    step(env)  # tick 6
    assert tile(env, 17, 16)["tile_food"] == 1


def test_full_agent_leaves_food_on_the_tile():
    env = world()
    agent(env, 0, x=16, y=16, food=100)
    tile(env, 17, 16, tile_terrain=FOREST, tile_food=1)
    step(env, a0=(E, 0, 0))
    assert tile(env, 17, 16)["tile_food"] == 1


def test_moving_into_water_drinks_and_stays_put():
    env = world()
    agent(env, 0, x=16, y=16, water=30, forage_level=3)
    tile(env, 17, 16, tile_terrain=WATER)
    _, rewards, *_ = step(env, a0=(E, 0, 0))
    s = agent(env, 0)
    assert (s["x"], s["y"], s["facing"]) == (16, 16, 1)
    assert s["water"] == 30 + 20 + 5 * 2 - 1 and s["water_gathered"] == 30
    assert rewards[0] == pytest.approx(0.1 * 30 / 20 + 0.01)


def test_topping_up_pays_only_for_the_points_gained():
    env = world()
    agent(env, 0, x=16, y=16, water=95)
    tile(env, 17, 16, tile_terrain=WATER)
    _, rewards, *_ = step(env, a0=(E, 0, 0))
    s = agent(env, 0)
    assert s["water"] == 100 - 1 and s["water_gathered"] == 5
    assert rewards[0] == pytest.approx(0.1 * 5 / 20 + 0.01)


def test_hunger_and_thirst_drain_each_tick():
    env = world(food_drain=2, water_drain=3)
    agent(env, 0, x=16, y=16, food=50, water=50)
    step(env)
    s = agent(env, 0)
    assert (s["food"], s["water"]) == (48, 47)


def test_starvation_and_dehydration_each_cost_health():
    env = world(starve_damage=5, regen=2)
    agent(env, 0, x=16, y=16, health=50, food=0, water=100)
    agent(env, 1, x=18, y=18, health=50, food=0, water=0)
    step(env)
    assert agent(env, 0)["health"] == 45
    assert agent(env, 1)["health"] == 40


def test_health_regenerates_only_when_fed_and_watered():
    env = world(regen=2)
    agent(env, 0, x=16, y=16, health=50, food=60, water=60)
    agent(env, 1, x=18, y=18, health=50, food=50, water=60)  # 49 after the drain: not fed enough
    step(env)
    assert agent(env, 0)["health"] == 52
    assert agent(env, 1)["health"] == 50
    agent(env, 0, health=99)
    step(env)
    assert agent(env, 0)["health"] == 100


# ---------------------------------------------------------------- movement
@pytest.mark.parametrize("blocker", ["stone", "water", "agent", "edge"])
def test_blocked_moves_do_nothing(blocker):
    env = world()
    x, y, move = 16, 16, E
    if blocker == "stone":
        tile(env, 17, 16, tile_terrain=STONE)
    elif blocker == "water":
        tile(env, 17, 16, tile_terrain=WATER)
    elif blocker == "agent":
        agent(env, 1, x=17, y=16)
    else:
        x, y, move = 0, 16, W
        agent(env, 0, x=0, y=16)
    agent(env, 0, x=x, y=y)
    step(env, a0=(move, 0, 0))
    s = agent(env, 0)
    assert (s["x"], s["y"]) == (x, y)
    assert s["facing"] == move - 1
    if blocker == "agent":
        assert (agent(env, 1)["x"], agent(env, 1)["y"]) == (17, 16)


def test_moves_go_in_the_four_directions():
    env = world()
    agent(env, 0, x=16, y=16)
    for move, (x, y) in [(N, (16, 15)), (E, (17, 15)), (S, (17, 16)), (W, (16, 16)), (STAY, (16, 16))]:
        step(env, a0=(move, 0, 0))
        s = agent(env, 0)
        assert (s["x"], s["y"]) == (x, y)


# ---------------------------------------------------------------- combat
def test_melee_hits_the_faced_tile_with_level_and_weapon():
    env = world(regen=0)
    agent(env, 0, x=16, y=16, facing=1, combat_level=3, weapon=2)
    agent(env, 1, x=17, y=16)
    agent(env, 2, x=16, y=17)  # beside, not faced: untouched
    step(env, a0=(STAY, MELEE, 0))
    assert agent(env, 1)["health"] == 100 - (10 + 2 * 2 + 5 * 2)
    assert agent(env, 2)["health"] == 100
    s = agent(env, 0)
    assert s["damage_dealt"] == 24 and agent(env, 1)["damage_taken"] == 24


def test_ranged_hits_the_nearest_within_two_for_half_damage():
    env = world(regen=0)
    agent(env, 0, x=16, y=16)
    agent(env, 1, x=18, y=14)  # distance 2
    agent(env, 2, x=19, y=16)  # distance 3: out of range
    step(env, a0=(STAY, RANGED, 0))
    assert agent(env, 1)["health"] == 100 - 5
    assert agent(env, 2)["health"] == 100
    agent(env, 2, x=17, y=17)  # now the nearest
    step(env, a0=(STAY, RANGED, 0))
    assert agent(env, 2)["health"] == 95 and agent(env, 1)["health"] == 95


def test_killing_an_agent_counts_a_player_kill():
    env = world(regen=0, respawn_delay=5)
    agent(env, 0, x=16, y=16, facing=1)
    agent(env, 1, x=17, y=16, health=5, combat_level=2)
    _, rewards, terminals, *_ = step(env, a0=(STAY, MELEE, 0))
    assert terminals[1] and not agent(env, 1)["alive"]
    assert rewards[1] == pytest.approx(-1.0)
    s = agent(env, 0)
    assert s["player_kills"] == 1 and s["combat_xp"] == 1 + 2 * 2


def test_combat_xp_levels_up_and_is_rewarded():
    env = world(regen=0)
    agent(env, 0, x=16, y=16, facing=1, combat_xp=9)
    agent(env, 1, x=17, y=16)
    _, rewards, *_ = step(env, a0=(STAY, MELEE, 0))
    s = agent(env, 0)
    assert (s["combat_level"], s["combat_xp"]) == (2, 0)
    assert rewards[0] == pytest.approx(0.5 + 0.01)
    agent(env, 0, combat_xp=19)  # level 2 -> 3 takes 20 xp
    step(env, a0=(STAY, MELEE, 0))
    assert agent(env, 0)["combat_level"] == 3


def test_foraging_xp_levels_up_and_gathers_more():
    env = world()
    agent(env, 0, x=16, y=16, water=10, forage_xp=8)
    tile(env, 17, 16, tile_terrain=WATER)
    step(env, a0=(E, 0, 0))
    s = agent(env, 0)
    assert s["forage_level"] == 2 and s["water"] == 10 + 20 - 1
    step(env, a0=(E, 0, 0))
    assert agent(env, 0)["water"] == 29 + 25 - 1


# ---------------------------------------------------------------- NPCs
def npc_world(**config):
    env = world(npcs=1, regen=0, **config)
    agent(env, 0, x=16, y=16)
    return env


def test_passive_npc_never_attacks():
    env = npc_world()
    npc(env, 0, npc_x=17, npc_y=16, npc_alive=1, npc_tier=PASSIVE, npc_level=5, npc_health=60)
    for _ in range(10):
        step(env)
    assert agent(env, 0)["health"] == 100


def test_neutral_npc_strikes_back_only_once_hit():
    env = npc_world()
    npc(env, 0, npc_x=17, npc_y=16, npc_alive=1, npc_tier=NEUTRAL, npc_level=1, npc_health=100)
    agent(env, 0, facing=1)
    for _ in range(4):
        step(env)
    assert agent(env, 0)["health"] == 100
    npc(env, 0, npc_x=17, npc_y=16)  # back in front of the agent, wherever it wandered
    step(env, a0=(STAY, MELEE, 0))  # tick 5; NPC 0 acts on even ticks
    assert npc(env, 0)["npc_target"] == 0 and npc(env, 0)["npc_health"] == 90
    step(env)  # tick 6: it strikes for 2 + level
    assert agent(env, 0)["health"] == 100 - 3


def test_hostile_npc_chases_and_strikes():
    env = npc_world()
    npc(env, 0, npc_x=19, npc_y=16, npc_alive=1, npc_tier=HOSTILE, npc_level=1, npc_health=28)
    step(env)  # tick 1: resting
    step(env)  # tick 2: sees the agent 3 tiles away, steps closer
    assert npc(env, 0)["npc_x"] == 18 and npc(env, 0)["npc_target"] == 0
    step(env)
    step(env)
    assert npc(env, 0)["npc_x"] == 17
    step(env)
    step(env)  # tick 6: adjacent, strikes for 3 + 2 level
    assert agent(env, 0)["health"] == 100 - 5
    assert window_cell(env, 0, 1, 0)[4] == HOSTILE + 1


def test_hostile_npc_ignores_agents_out_of_sight():
    env = npc_world()
    npc(env, 0, npc_x=20, npc_y=16, npc_alive=1, npc_tier=HOSTILE, npc_level=1, npc_health=28)
    step(env)
    step(env)
    assert npc(env, 0)["npc_target"] == -1


def test_npcs_are_stronger_away_from_the_spawn_edge():
    env = make_small(num_envs=1, seed=0, map_size=64, npcs=256)
    env.reset()
    by_distance = []
    for j in range(256):
        s = npc(env, j)
        if s["npc_alive"]:
            d = min(s["npc_x"], s["npc_y"], 63 - s["npc_x"], 63 - s["npc_y"])
            by_distance.append((d, s["npc_tier"], s["npc_level"]))
    by_distance.sort()
    assert len(by_distance) > 200
    tiers = [t for _, t, _ in by_distance]
    levels = [lv for _, _, lv in by_distance]
    assert tiers == sorted(tiers) and levels == sorted(levels)
    assert set(tiers) == {PASSIVE, NEUTRAL, HOSTILE} and levels[0] == 1 and levels[-1] == 10


def test_killed_npc_gives_xp_and_drops_a_weapon_to_pick_up_and_equip():
    env = npc_world(drop_rate=1.0)
    npc(env, 0, npc_x=17, npc_y=16, npc_alive=1, npc_tier=NEUTRAL, npc_level=5, npc_health=1)
    agent(env, 0, facing=1)
    step(env, a0=(STAY, MELEE, 0))
    assert not npc(env, 0)["npc_alive"]
    s = agent(env, 0)
    assert s["npc_kills"] == 1
    assert (s["combat_level"], s["combat_xp"]) == (2, 1 + 2 * 5 - 10)
    assert tile(env, 17, 16)["tile_item"] == 2  # neutral, level >= 5: a tier-2 weapon
    step(env, a0=(E, 0, 0))
    s = agent(env, 0)
    assert (s["x"], s["inv0"]) == (17, 2) and tile(env, 17, 16)["tile_item"] == 0
    step(env, a0=(STAY, 0, 1))
    s = agent(env, 0)
    assert (s["weapon"], s["inv0"]) == (2, 0)
    assert stats(env, 0)["weapon"] == 2


def test_equipping_swaps_with_the_weapon_in_hand_and_potions_heal():
    env = world(regen=0)
    agent(env, 0, x=16, y=16, weapon=1, inv0=3, inv1=POTION, health=30)
    step(env, a0=(STAY, 0, 1))
    s = agent(env, 0)
    assert (s["weapon"], s["inv0"]) == (3, 1)
    step(env, a0=(STAY, 0, 2))
    s = agent(env, 0)
    assert (s["health"], s["inv1"]) == (80, 0)
    step(env, a0=(STAY, 0, 3))  # an empty slot: nothing
    assert agent(env, 0)["weapon"] == 3


def test_killed_npc_respawns_after_its_delay():
    env = npc_world(npc_respawn_delay=3)
    npc(env, 0, npc_x=17, npc_y=16, npc_alive=1, npc_tier=PASSIVE, npc_level=1, npc_health=1)
    agent(env, 0, facing=1)
    step(env, a0=(STAY, MELEE, 0))
    assert not npc(env, 0)["npc_alive"]
    step(env)
    step(env)
    assert not npc(env, 0)["npc_alive"]
    step(env)
    assert npc(env, 0)["npc_alive"]


# ---------------------------------------------------------------- death, masks, respawn, horizon
def test_death_terminates_then_masks_the_row_until_respawn():
    env = world(respawn_delay=3)
    agent(env, 0, x=16, y=16, health=1, food=0)
    obs, rewards, terminals, truncations, _ = step(env)
    assert terminals[0] and not truncations[0] and rewards[0] == pytest.approx(-1.0)
    assert not env.masks[0] and not obs[0].any()  # the row is dead from this observation on
    assert env.masks[1:].all() and not terminals[1:].any()
    stats_ = env.episode_stats()
    assert stats_["episodes"] == 1 and stats_["lifetime"] == 1 and stats_["damage_taken"] == 5
    for _ in range(2):
        obs, rewards, terminals, *_ = step(env, a0=(E, MELEE, 1))  # actions of the dead are ignored
        assert not env.masks[0] and not obs[0].any() and not terminals[0] and rewards[0] == 0
    obs, *_ = step(env)
    assert env.masks[0]
    s = stats(env, 0)
    assert s["alive"] == 1 and s["health"] == 100 and s["food"] == 100
    st = agent(env, 0)
    assert st["x"] in (0, 31) or st["y"] in (0, 31)


def test_zero_respawn_delay_respawns_in_the_death_step():
    env = world(respawn_delay=0)
    agent(env, 0, x=16, y=16, health=1, food=0)
    obs, _, terminals, *_ = step(env)
    assert terminals[0] and env.masks[0] and stats(env, 0)["alive"] == 1


def test_horizon_truncates_every_row_and_regenerates_the_world():
    env = world(horizon=20)
    before = env.render(0)
    for t in range(19):
        _, _, _, truncations, _ = step(env)
        assert not truncations.any()
    _, _, _, truncations, _ = step(env)
    assert truncations.all() and env.masks.all()
    assert env.get_state(0)["tick"] == 0
    assert env.episode_stats()["episodes"] == 4
    assert not np.array_equal(before, env.render(0))


# ---------------------------------------------------------------- observation
def test_observation_window_and_stats_layout():
    env = world(npcs=1)
    agent(env, 0, x=16, y=16, health=90, food=80, water=70, combat_level=2, forage_level=3, weapon=1,
          facing=2, inv0=POTION)
    tile(env, 17, 16, tile_terrain=FOREST, tile_food=1)
    tile(env, 18, 18, tile_item=POTION)
    agent(env, 1, x=16, y=15, health=77, combat_level=3)
    npc(env, 0, npc_x=15, npc_y=17, npc_alive=1, npc_tier=HOSTILE, npc_level=1, npc_health=14)
    assert env.single_observation_space.shape == (5 * 5 * C + len(STATS),)
    assert window_cell(env, 0, 1, 0).tolist() == [FOREST, 1, 0, 0, 0, 0, 0]
    assert window_cell(env, 0, 0, -1).tolist() == [GRASS, 0, 77, 3, 0, 0, 0]
    assert window_cell(env, 0, -1, 1).tolist() == [GRASS, 0, 0, 0, HOSTILE + 1, 50, 0]
    assert window_cell(env, 0, 2, 2).tolist() == [GRASS, 0, 0, 0, 0, 0, POTION]
    assert window_cell(env, 0, 0, 0)[2] == 90  # the agent itself
    assert stats(env, 0) == dict(alive=1, health=90, food=80, water=70, combat_level=2, forage_level=3, weapon=1,
                                 facing=2, inv0=POTION, inv1=0, inv2=0, x=16 * 255 // 31, y=16 * 255 // 31)
    agent(env, 0, x=1, y=16)
    assert window_cell(env, 0, -2, 0)[0] == 0  # outside the map
    assert window_cell(env, 0, -1, 0)[0] == SPAWN


def test_rewards_follow_the_configured_weights():
    env = world(reward_survival=0.5, reward_forage=2.0, reward_death=-7.0)
    agent(env, 0, x=16, y=16, water=50)
    tile(env, 17, 16, tile_terrain=WATER)
    agent(env, 1, x=18, y=18, health=1, food=0)
    _, rewards, *_ = step(env, a0=(E, 0, 0))
    assert rewards[0] == pytest.approx(2.5) and rewards[1] == pytest.approx(-7.0)
    assert rewards[2] == pytest.approx(0.5)


# ---------------------------------------------------------------- determinism, config, rendering
def test_same_seed_same_world_for_one_and_two_threads():
    config = dict(map_size=64, agents=32, npcs=64, window=11, horizon=100, respawn_delay=2)
    actions = make_small(num_envs=3, **config).action_space
    actions.seed(5)
    batches = [actions.sample() for _ in range(250)]
    traces = []
    for threads in (1, 2):
        env = make_small(num_envs=3, seed=9, num_threads=threads, **config)
        env.reset()
        digest = []
        for a in batches:
            obs, rew, term, trunc, _ = env.step(a)
            digest.append((obs.sum(dtype=np.int64), obs[::7].tobytes(), rew.tobytes(), term.tobytes(),
                           trunc.tobytes(), env.masks.tobytes()))
        traces.append((env.num_threads, digest, env.episode_stats()))
    assert traces[0][0] == 1 and traces[1][0] == 2
    assert traces[0][1] == traces[1][1] and traces[0][2] == traces[1][2]
    assert traces[0][2]["episodes"] > 0


@pytest.mark.parametrize("config,match", [
    (dict(window=6), "window: must be odd"),
    (dict(map_size=16, window=17), "map_size: must be at least window"),
    (dict(map_size=16, agents=61), "agents: more agents than spawn tiles"),
    (dict(map_size=16, npcs=33), "npcs: at most"),
    (dict(reward_survival=0, reward_forage=0, reward_level=0, reward_death=0), "reward_survival.*all zero"),
    (dict(reward_death=1), "'reward_death' must be in"),
    (dict(agents=4, render_follow=4), "render_follow: must be < agents"),
])
def test_bad_config_is_refused_naming_the_key(config, match):
    with pytest.raises(ValueError, match=match):
        make_small(**config)


def test_render_shows_the_map_and_can_follow_an_agent():
    env = make_small(num_envs=1, map_size=128, agents=8, render_cells=16, render_follow=3)
    env.reset()
    assert env.spec_.render_shape == (128, 128, 3)
    s = agent(env, 3, x=60, y=70)
    assert (s["x"], s["y"]) == (60, 70)
    frame = env.render(0)
    # the followed agent sits at the crop's centre, outlined in white
    cell = frame[8 * 8:9 * 8, 8 * 8:9 * 8]
    assert (cell == 255).all(axis=2).any() and cell[4, 4].tolist() != [255, 255, 255]
    whole = make_small(num_envs=1, map_size=300)
    assert whole.spec_.render_shape == (512, 512, 3)


@pytest.mark.parametrize("config,steps", [
    (dict(map_size=64, agents=32, npcs=64, window=11, horizon=300, respawn_delay=2), 1500),
    (dict(map_size=512, agents=1024, npcs=2048, window=11), 40),  # nmmo3's sizes
])
def test_invariants_hold_over_a_random_run(config, steps):
    env = make_small(num_envs=2, seed=4, **config)
    env.action_space.seed(0)
    env.reset()
    w = config["window"]
    centre = ((w // 2) * w + w // 2) * C
    for _ in range(steps):
        obs, rewards, terminals, truncations, _ = env.step(env.action_space.sample())
        alive = obs[:, w * w * C] == 1
        assert np.array_equal(env.masks, alive)
        assert not obs[~alive].any()
        assert np.array_equal(obs[alive, centre + 2], obs[alive, w * w * C + 1])  # own health at the centre
        assert np.isin(obs[alive, centre], [GRASS, FOREST, SPAWN]).all()
        assert (rewards[terminals] < 0).all()
    assert env.episode_stats()["episodes"] > 0 or steps < 100


def test_defaults_are_a_128_map_with_128_agents_and_an_11x11_window():
    spec = sailfish.envs.spec("mmo")
    assert (spec.config["map_size"], spec.config["agents"], spec.config["window"]) == (128, 128, 11)
    assert spec.agents_per_env == 128
