package signaling

import (
	"context"
	"errors"
	"strings"

	"github.com/bomca/lecturelink/chat"
	"github.com/bomca/lecturelink/schedule"
	"golang.org/x/time/rate"
)

// Chat message types (docs/protocol.md, "Chat").
const (
	msgChat        = "chat"        // client: post {text}; server: {message}
	msgDeleteChat  = "deleteChat"  // client: {id}, moderators only
	msgChatDeleted = "chatDeleted" // server: {id, by}
	msgChatHistory = "chatHistory" // server: {messages}, right after joined
)

// Per-connection chat limit, on top of the socket's general one: a person
// types at most a message a second, and a short burst covers pasting a few
// lines in a row.
const (
	chatRate  = 1
	chatBurst = 5
)

type chatMsg struct {
	Type    string       `json:"type"`
	Message chat.Message `json:"message"`
}

type chatDeletedMsg struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	By   string `json:"by"`
}

type chatHistoryMsg struct {
	Type     string         `json:"type"`
	Messages []chat.Message `json:"messages"`
}

// sendChatHistory sends c the lecture's recent chat. It runs right after
// joined, with c already a member, so that a message posted meanwhile is
// either in the history or broadcast to c (possibly both: clients drop
// repeats by id). A failure costs only the history, never the join.
// Caller holds r.mu.
func (r *room) sendChatHistory(ctx context.Context, c *client) {
	if r.s.cfg.Chat == nil {
		return
	}
	msgs, err := r.s.cfg.Chat.History(ctx, r.id, 0)
	if err != nil {
		r.s.log.Error("loading chat history failed", "lecture", r.id, "conn", c.id, "err", err)
		msgs = nil
	}
	if msgs == nil {
		msgs = []chat.Message{}
	}
	c.sendJSON(chatHistoryMsg{Type: msgChatHistory, Messages: msgs})
}

// chatAllowed checks what every chat action needs: a chat store, and a
// lecture that is neither over nor cancelled. It reports the refusal to c.
func (r *room) chatAllowed(c *client, ref string) bool {
	if r.s.cfg.Chat == nil {
		c.sendError(codeUnknownType, "chat is not available on this server", ref)
		return false
	}
	r.mu.Lock()
	state := r.lecture.State
	r.mu.Unlock()
	switch state {
	case schedule.StateEnded:
		c.sendError(codeEnded, "the lecture has ended", ref)
		return false
	case schedule.StateCancelled:
		c.sendError(codeCancelled, "the lecture was cancelled", ref)
		return false
	}
	return true
}

// postChat stores c's message and sends it to everyone in the room.
func (r *room) postChat(ctx context.Context, c *client, m inbound) {
	if c.chatLimiter == nil {
		c.chatLimiter = rate.NewLimiter(chatRate, chatBurst)
	}
	if !c.chatLimiter.Allow() {
		c.sendError(codeRateLimited, "at most one chat message a second; wait a moment", m.Type)
		return
	}
	if !r.chatAllowed(c, m.Type) {
		return
	}
	if _, err := chat.CleanText(m.Text); err != nil {
		c.sendError(codeBadRequest, chatReason(err), m.Type)
		return
	}
	msg, err := r.s.cfg.Chat.Post(ctx, chat.Message{
		LectureID: r.id, UserID: c.user.ID, Name: c.user.DisplayName,
		Role: r.roleIn(c.user), SiteID: c.user.SiteID, Text: m.Text,
	})
	switch {
	case err == nil:
	case errors.Is(err, chat.ErrInvalid):
		c.sendError(codeBadRequest, chatReason(err), m.Type)
		return
	default:
		r.s.log.Error("posting chat failed", "lecture", r.id, "conn", c.id, "err", err)
		c.sendError(codeInternal, "the message could not be sent; try again", m.Type)
		return
	}
	r.broadcast(chatMsg{Type: msgChat, Message: msg})
}

// deleteChat removes a message on a moderator's behalf and tells everyone.
func (r *room) deleteChat(ctx context.Context, c *client, m inbound) {
	if !r.isModerator(c.user) {
		r.s.metrics.forbidden.Inc()
		c.sendError(codeForbidden, "only the lecturer or an admin may delete chat messages", m.Type)
		return
	}
	if m.ID == "" || len(m.ID) > 64 {
		c.sendError(codeBadRequest, "id must be a chat message id", m.Type)
		return
	}
	if !r.chatAllowed(c, m.Type) {
		return
	}
	_, err := r.s.cfg.Chat.Delete(ctx, r.id, m.ID, c.user.ID)
	switch {
	case err == nil:
	case errors.Is(err, chat.ErrNotFound):
		c.sendError(codeNotFound, "no such chat message in this lecture", m.Type)
		return
	default:
		r.s.log.Error("deleting chat failed", "lecture", r.id, "conn", c.id, "id", m.ID, "err", err)
		c.sendError(codeInternal, "the message could not be deleted; try again", m.Type)
		return
	}
	c.log.Info("chat message deleted", "lecture", r.id, "id", m.ID)
	r.broadcast(chatDeletedMsg{Type: msgChatDeleted, ID: m.ID, By: c.user.ID})
}

// broadcast sends v to everyone in the room.
func (r *room) broadcast(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for mc := range r.members {
		mc.sendJSON(v)
	}
}

// chatReason is a chat validation error as the sender should read it,
// without the package's prefix.
func chatReason(err error) string {
	return strings.TrimPrefix(err.Error(), chat.ErrInvalid.Error()+": ")
}
