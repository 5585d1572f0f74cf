"""Votes and ratings: the reaction-to-vote mapping, Bradley-Terry and win rates, leaderboards,
charts and the preference dataset exports."""
